using Discounts.Core.Data;
using Discounts.Core.Domain;
using Discounts.Training.FineTuning;
using Discounts.Training.Scorer;
using Discounts.Web.Infrastructure;
using FluentValidation;
using Hangfire;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace Discounts.Web.Features.Training;

/// <summary>Stops a run: a queued one never starts, a running one stops within one training step. The active model is untouched.</summary>
public static class CancelTrainingRun
{
    public sealed record Command(long Id) : ICommand<Result>;

    public sealed record Result(long Id, TrainingRunStatus Status);

    public sealed class Validator : AbstractValidator<Command>
    {
        public Validator() => RuleFor(c => c.Id).GreaterThan(0);
    }

    public sealed class Handler(DiscountsDbContext db, TrainingCancellations cancellations, IBackgroundJobClient jobs, TimeProvider clock)
        : ICommandHandler<Command, Result>
    {
        public async ValueTask<Result> Handle(Command command, CancellationToken cancellationToken)
        {
            var run = await db.TrainingRuns.SingleOrDefaultAsync(r => r.Id == command.Id, cancellationToken)
                      ?? throw new NotFoundException("Training run", command.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (run.Status is TrainingRunStatus.Succeeded or TrainingRunStatus.Failed or TrainingRunStatus.Cancelled)
                throw new ConflictException($"Training run {run.Id} has already finished ({run.Status}).");

            // The training loop checks its token before every step and records the cancelled status itself.
            if (cancellations.Cancel(run.Id)) return new Result(run.Id, run.Status);

            // Not executing in this process: a queued run, or one whose process has gone. Either way it will not finish.
            run.Status = TrainingRunStatus.Cancelled;
            run.FinishedAt = clock.GetUtcNow().UtcDateTime;
            await db.SaveChangesAsync(cancellationToken);
            if (run.JobId is not null) jobs.Delete(run.JobId);
            return new Result(run.Id, run.Status);
        }
    }

    public static void Map(RouteGroupBuilder group) =>
        group.MapPost("/runs/{id:long}/cancel", async (long id, ISender sender, CancellationToken cancellationToken) =>
                TypedResults.Accepted($"/api/training/runs/{id}", await sender.Send(new Command(id), cancellationToken)))
            .WithName("CancelTrainingRun")
            .WithSummary("Cancel a queued or running fine-tuning run")
            .WithDescription("202 once the run is told to stop; 404 for an unknown run, 409 for one that has finished.")
            .RequireAuthorization(Policies.Science)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
}
