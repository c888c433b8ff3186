using System.Globalization;
using Discounts.Training.FineTuning;
using Discounts.Training.Scorer;
using Discounts.Web.Infrastructure;
using Hangfire;
using Hangfire.Server;
using Mediator;

namespace Discounts.Web.Features.Training;

/// <summary>The Hangfire job that runs one fine-tuning run through the mediator, with its progress copied into the job's parameters.</summary>
public sealed class FineTuneJob(ISender sender)
{
    /// <summary>Hangfire passes the <see cref="PerformContext"/>; progress is copied into the job's parameters.</summary>
    [Queue(Queues.Training)]
    [AutomaticRetry(Attempts = 0)]
    public async Task RunAsync(long runId, PerformContext? context, CancellationToken cancellationToken)
    {
        await sender.Send(new FineTuneScorer.Command(runId, context is null ? null : new JobParameterProgress(context)), cancellationToken);
    }

    /// <summary>Written on the training thread as each step is logged, not posted later like <see cref="Progress{T}"/>.</summary>
    private sealed class JobParameterProgress(PerformContext context) : IProgress<FineTuneProgress>
    {
        public void Report(FineTuneProgress value)
        {
            context.SetJobParameter("progressPercent", value.ProgressPercent.ToString(CultureInfo.InvariantCulture));
            context.SetJobParameter("etaSeconds", value.EtaSeconds?.ToString(CultureInfo.InvariantCulture));
            context.SetJobParameter("step", value.Step);
        }
    }
}

/// <summary>The recurring `fine-tune-scorer` job (Training:Schedule) queues a run like a scientist's request would.</summary>
public sealed class ScheduledFineTuneJob(ISender sender, Microsoft.Extensions.Options.IOptions<FineTuneOptions> options)
{
    [Queue(Queues.Default)]
    [AutomaticRetry(Attempts = 0)]
    public async Task RunAsync(CancellationToken cancellationToken) =>
        await sender.Send(new StartTrainingRun.Command(options.Value.Hyperparameters), cancellationToken);
}
