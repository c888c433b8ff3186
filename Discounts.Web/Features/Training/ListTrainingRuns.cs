using Discounts.Core.Data;
using Discounts.Core.Domain;
using Discounts.Web.Infrastructure;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace Discounts.Web.Features.Training;

public static class ListTrainingRuns
{
    private const int Shown = 100;

    public sealed record Query : IQuery<Result>;

    public sealed record Result(IReadOnlyList<RunSummary> Runs);

    public sealed record RunSummary(
        long Id, TrainingRunStatus Status, string Device, double ProgressPercent, double? EtaSeconds,
        DateTime CreatedAt, DateTime? StartedAt, DateTime? FinishedAt, string? Error, double? BestValidationLoss);

    public sealed class Validator : AbstractValidator<Query>;

    public sealed class Handler(DiscountsDbContext db) : IQueryHandler<Query, Result>
    {
        public async ValueTask<Result> Handle(Query query, CancellationToken cancellationToken) =>
            new(await db.TrainingRuns.AsNoTracking()
                .OrderByDescending(r => r.Id)
                .Take(Shown)
                .Select(r => new RunSummary(r.Id, r.Status, r.Device, r.ProgressPercent, r.EtaSeconds, r.CreatedAt, r.StartedAt, r.FinishedAt, r.Error,
                    r.LossPoints.Where(p => p.Split == LossSplit.Validation).Min(p => (double?)p.Loss)))
                .ToListAsync(cancellationToken));
    }

    public static void Map(RouteGroupBuilder group) =>
        group.MapGet("/runs", async (ISender sender, CancellationToken cancellationToken) =>
                TypedResults.Ok(await sender.Send(new Query(), cancellationToken)))
            .WithName("ListTrainingRuns")
            .WithSummary("List fine-tuning runs, newest first")
            .WithDescription("The latest 100 runs with their status, progress and lowest validation loss.")
            .RequireAuthorization(Policies.Read);
}
