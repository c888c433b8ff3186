using System.Globalization;
using Discounts.Training.FineTuning;
using Discounts.Training.Scorer;
using Discounts.Web.Infrastructure;
using FluentValidation;
using Hangfire;
using Hangfire.Server;
using Mediator;

namespace Discounts.Web.Features.Training;

/// <summary>Executes a queued fine-tuning run: the Hangfire job on the `training` queue, through the mediator.</summary>
public static class FineTuneScorer
{
    public const string RecurringJobId = "fine-tune-scorer";

    public sealed record Command(long RunId, IProgress<FineTuneProgress>? Progress) : ICommand<Result>;

    public sealed record Result(long RunId);

    public sealed class Validator : AbstractValidator<Command>
    {
        public Validator() => RuleFor(c => c.RunId).GreaterThan(0);
    }

    public sealed class Handler(FineTuneRunner runner) : ICommandHandler<Command, Result>
    {
        public async ValueTask<Result> Handle(Command command, CancellationToken cancellationToken)
        {
            await runner.RunAsync(command.RunId, command.Progress, cancellationToken);
            return new Result(command.RunId);
        }
    }

    public sealed class Job(ISender sender)
    {
        /// <summary>Hangfire passes the <see cref="PerformContext"/>; progress is copied into the job's parameters.</summary>
        [Queue(Queues.Training)]
        [AutomaticRetry(Attempts = 0)]
        public async Task RunAsync(long runId, PerformContext? context, CancellationToken cancellationToken)
        {
            await sender.Send(new Command(runId, context is null ? null : new JobParameterProgress(context)), cancellationToken);
        }
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

    /// <summary>The recurring `fine-tune-scorer` job (Training:Schedule) queues a run like a scientist's request would.</summary>
    public sealed class ScheduledJob(ISender sender, Microsoft.Extensions.Options.IOptions<FineTuneOptions> options)
    {
        [Queue(Queues.Default)]
        [AutomaticRetry(Attempts = 0)]
        public async Task RunAsync(CancellationToken cancellationToken) =>
            await sender.Send(new StartTrainingRun.Command(options.Value.Hyperparameters), cancellationToken);
    }
}
