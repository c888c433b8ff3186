using System.Globalization;
using System.Text.Json;
using Discounts.Core.Data;
using Discounts.Core.Domain;
using Discounts.Web.Infrastructure;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace Discounts.Web.Features.Training;

public static class GetTrainingRun
{
    public sealed record Query(long Id) : IQuery<Result>;

    public sealed record Result(
        long Id, TrainingRunStatus Status, string? JobId, string Device, double ProgressPercent, double? EtaSeconds,
        JsonElement Hyperparameters, JsonElement DatasetSnapshot, JsonElement Metrics, string? Error,
        long? StartedFromModelVersionId, DateTime CreatedAt, DateTime? StartedAt, DateTime? FinishedAt);

    public sealed class Validator : AbstractValidator<Query>
    {
        public Validator() => RuleFor(q => q.Id).GreaterThan(0);
    }

    public sealed class Handler(DiscountsDbContext db) : IQueryHandler<Query, Result>
    {
        public async ValueTask<Result> Handle(Query query, CancellationToken cancellationToken)
        {
            var run = await db.TrainingRuns.AsNoTracking().SingleOrDefaultAsync(r => r.Id == query.Id, cancellationToken)
                      ?? throw new NotFoundException("Training run", query.Id.ToString(CultureInfo.InvariantCulture));
            return new Result(
                run.Id, run.Status, run.JobId, run.Device, run.ProgressPercent, run.EtaSeconds,
                Parse(run.HyperparametersJson), Parse(run.DatasetSnapshotJson), Parse(run.MetricsJson), run.Error,
                run.StartedFromModelVersionId, run.CreatedAt, run.StartedAt, run.FinishedAt);
        }

        private static JsonElement Parse(string json)
        {
            using var document = JsonDocument.Parse(json);
            return document.RootElement.Clone();
        }
    }

    public static void Map(RouteGroupBuilder group) =>
        group.MapGet("/runs/{id:long}", async (long id, ISender sender, CancellationToken cancellationToken) =>
                TypedResults.Ok(await sender.Send(new Query(id), cancellationToken)))
            .WithName("GetTrainingRun")
            .WithSummary("One fine-tuning run: hyperparameters, dataset snapshot, progress and metrics")
            .WithDescription("Metrics compare the base, previously active and fine-tuned scorers on the validation split.")
            .RequireAuthorization(Policies.Read)
            .ProducesProblem(StatusCodes.Status404NotFound);
}
