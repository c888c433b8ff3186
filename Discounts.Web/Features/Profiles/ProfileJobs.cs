using Discounts.Core.Profiling;
using Discounts.Web.Infrastructure;
using Hangfire;
using Mediator;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Discounts.Web.Features.Profiles;

/// <summary>The Hangfire jobs that build profiles. They go through the mediator like any request.</summary>
public sealed partial class ProfileJobs(ISender sender, ProfileRefreshScheduler scheduler, ILogger<ProfileJobs> logger)
{
    public const string RecurringRebuildId = "rebuild-profiles";

    [Queue(Queues.Default)]
    [AutomaticRetry(Attempts = 2)]
    public async Task RefreshQueuedAsync(CancellationToken cancellationToken)
    {
        var result = await sender.Send(new RebuildProfiles.Command(OnlyQueued: true), cancellationToken);
        Log(result, "refresh");
        scheduler.RefreshDone();
        if (result.StillQueued)
        {
            // Changes that arrived while this job ran get their own window.
            scheduler.RequestRefresh();
        }
    }

    [Queue(Queues.Default)]
    [AutomaticRetry(Attempts = 1)]
    public async Task RebuildAllAsync(CancellationToken cancellationToken)
    {
        var result = await sender.Send(new RebuildProfiles.Command(OnlyQueued: false), cancellationToken);
        Log(result, "rebuild");
    }

    private void Log(RebuildProfiles.Result result, string kind) =>
        LogBuilt(logger, kind, result.Users, result.Texts, result.TextModelVersion, result.FitSeconds, result.ScoreSeconds);

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Profile {Kind}: {Users} users, {Texts} texts, text model {TextModelVersion}, fit {FitSeconds:F2} s, score {ScoreSeconds:F2} s")]
    private static partial void LogBuilt(ILogger logger, string kind, int users, int texts, string textModelVersion, double fitSeconds, double scoreSeconds);
}

/// <summary>
/// Debounces refreshes: the first change in a window schedules one refresh job at the window's end, and later changes
/// in the same window ride along, so ingestion only writes a queue row and never waits for profiling.
/// </summary>
public sealed class ProfileRefreshScheduler(IBackgroundJobClient jobs, IOptions<ProfilingOptions> options, TimeProvider clock)
{
    private long scheduledUntilTicks;

    public void RequestRefresh()
    {
        var now = clock.GetUtcNow().UtcTicks;
        var until = Interlocked.Read(ref scheduledUntilTicks);
        if (now < until)
        {
            return;
        }

        var delay = TimeSpan.FromSeconds(options.Value.RefreshDebounceSeconds);
        if (Interlocked.CompareExchange(ref scheduledUntilTicks, now + delay.Ticks, until) == until)
        {
            jobs.Schedule<ProfileJobs>(j => j.RefreshQueuedAsync(CancellationToken.None), delay);
        }
    }

    /// <summary>Opens the next window once a refresh has run, even if it ran earlier than planned.</summary>
    public void RefreshDone() => Interlocked.Exchange(ref scheduledUntilTicks, 0);
}

/// <summary>
/// At start: registers the recurring full rebuild, and queues a rebuild when users exist but no text model has been
/// fitted yet, which is the case right after the demo shop is seeded.
/// </summary>
public sealed partial class ProfileStartup(
    IServiceScopeFactory scopes,
    IRecurringJobManager recurring,
    IBackgroundJobClient jobs,
    IOptions<ProfilingOptions> options,
    ILogger<ProfileStartup> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        recurring.AddOrUpdate<ProfileJobs>(ProfileJobs.RecurringRebuildId, j => j.RebuildAllAsync(CancellationToken.None), options.Value.RebuildCron);
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<Core.Data.DiscountsDbContext>();
        if (!await db.TextModels.AnyAsync(cancellationToken) && await db.Users.AnyAsync(cancellationToken))
        {
            jobs.Enqueue<ProfileJobs>(j => j.RebuildAllAsync(CancellationToken.None));
            LogQueuedFirstBuild(logger);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "No text model yet: queued a first profile rebuild")]
    private static partial void LogQueuedFirstBuild(ILogger logger);
}
