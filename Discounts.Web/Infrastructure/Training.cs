using Discounts.Core.Data;
using Discounts.Training.FineTuning;
using Discounts.Training.Serving;
using Discounts.Web.Features.Training;
using Hangfire;
using Mediator;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Discounts.Web.Infrastructure;

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
    public static IServiceCollection AddDiscountsTraining(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<TrainingScheduleOptions>().Bind(configuration.GetSection(FineTuneOptions.SectionName))
            .Validate(o => !string.IsNullOrWhiteSpace(o.Schedule), "Training:Schedule must be a cron expression.")
            .ValidateOnStart();
        services.AddScorer(configuration);
        services.AddTransient<FineTuneScorer.Job>();
        services.AddTransient<FineTuneScorer.ScheduledJob>();
        services.AddHostedService<FirstFineTune>();
        return services;
    }

    public static void ScheduleTrainingJobs(this IRecurringJobManager recurring, TrainingScheduleOptions options) =>
        recurring.AddOrUpdate<FineTuneScorer.ScheduledJob>(FineTuneScorer.RecurringJobId, Queues.Default, job => job.RunAsync(CancellationToken.None), options.Schedule);
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
