using System.Diagnostics;
using Discounts.Core.Data;
using Discounts.Core.Domain;
using Discounts.Training;
using Discounts.Training.FineTuning;
using Discounts.Training.Scorer;
using Discounts.Training.Serving;
using Discounts.Web.Features.Training;
using Hangfire;
using Mediator;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

using Discounts.Web.Infrastructure;

namespace Discounts.Web.Modules;

/// <summary>When fine-tuning runs on its own (configuration section <c>Training</c>).</summary>
public sealed class TrainingScheduleOptions
{
    /// <summary>Cron of the recurring `fine-tune-scorer` job; never by default (runs are started by hand).</summary>
    public string Schedule { get; set; } = Cron.Never();

    /// <summary>Queue one run when the host starts on a shop that has items but has never been fine-tuned.</summary>
    public bool FirstRunOnSeed { get; set; } = true;
}

public static class TrainingSetup
{
    /// <summary>The job server's side of training: the fine-tune jobs, their schedule, resuming cut-off runs and the first run of a new shop.</summary>
    public static IServiceCollection AddDiscountsTrainingJobs(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<TrainingScheduleOptions>().Bind(configuration.GetSection(FineTuneOptions.SectionName))
            .Validate(o => !string.IsNullOrWhiteSpace(o.Schedule), "Training:Schedule must be a cron expression.")
            .ValidateOnStart();
        services.AddTransient<FineTuneJob>();
        services.AddTransient<ScheduledFineTuneJob>();
        services.AddHostedService<InterruptedTrainingRuns>();
        services.AddHostedService<FirstFineTune>();
        return services;
    }

    public static void ScheduleTrainingJobs(this IRecurringJobManager recurring, TrainingScheduleOptions options) =>
        recurring.AddOrUpdate<ScheduledFineTuneJob>(FineTuneScorer.RecurringJobId, Queues.Default, job => job.RunAsync(CancellationToken.None), options.Schedule);
}

/// <summary>Registered after the database initialiser, so it sees the seeded shop: queues the first fine-tune of a new shop.</summary>
internal sealed partial class FirstFineTune(
    IServiceScopeFactory scopes,
    IOptions<TrainingScheduleOptions> schedule,
    IOptions<FineTuneOptions> options,
    ILogger<FirstFineTune> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!schedule.Value.FirstRunOnSeed) return;
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<DiscountsDbContext>();
        if (await db.TrainingRuns.AnyAsync(cancellationToken) || !await db.Events.AnyAsync(cancellationToken)) return;
        var result = await scope.ServiceProvider.GetRequiredService<ISender>()
            .Send(new StartTrainingRun.Command(options.Value.Hyperparameters), cancellationToken);
        LogQueued(logger, result.Id);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Queued the first fine-tune of this shop as run {RunId}")]
    private static partial void LogQueued(ILogger logger, long runId);
}

/// <summary>
/// A run still marked running when the host starts was cut off by a crash or a kill (the training worker lives in this
/// process). It is queued again once and resumes from its last epoch checkpoint; cut off a second time, it is marked
/// failed, so a run that kills the host cannot loop. Only runs started before this process are touched.
/// </summary>
internal sealed partial class InterruptedTrainingRuns(IServiceScopeFactory scopes, TimeProvider clock, ILogger<InterruptedTrainingRuns> logger) : IHostedService
{
    public const string ResumedNote = "The host stopped during this run; it was resumed from its last checkpoint";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var processStarted = Process.GetCurrentProcess().StartTime.ToUniversalTime();
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<DiscountsDbContext>();
        var interrupted = await db.TrainingRuns
            .Where(r => r.Status == TrainingRunStatus.Running && (r.StartedAt == null || r.StartedAt < processStarted))
            .ToListAsync(cancellationToken);
        foreach (var run in interrupted)
        {
            if (run.Error?.StartsWith(ResumedNote, StringComparison.Ordinal) == true)
            {
                run.Status = TrainingRunStatus.Failed;
                run.FinishedAt = clock.GetUtcNow().UtcDateTime;
                run.Error = "The host stopped twice during this run; it is marked failed. Start a new run.";
                LogFailed(logger, run.Id);
            }
            else
            {
                run.Error = $"{ResumedNote} ({clock.GetUtcNow().UtcDateTime:O}).";
                run.JobId = scope.ServiceProvider.GetRequiredService<IBackgroundJobClient>()
                    .Enqueue<FineTuneJob>(job => job.RunAsync(run.Id, null, CancellationToken.None));
                LogResumed(logger, run.Id);
            }
        }

        await db.SaveChangesAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Training run {RunId} was interrupted by a host stop; queued again to resume from its checkpoint")]
    private static partial void LogResumed(ILogger logger, long runId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Training run {RunId} was interrupted by a host stop a second time; marked failed")]
    private static partial void LogFailed(ILogger logger, long runId);
}
