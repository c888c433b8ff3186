using Discounts.Training.FineTuning;
using Discounts.Web.Infrastructure;
using FluentValidation;
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
}
