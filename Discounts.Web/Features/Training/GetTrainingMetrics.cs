using System.Globalization;
using System.Text.Json;
using Discounts.Core.Data;
using Discounts.Core.Domain;
using Discounts.Web.Infrastructure;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace Discounts.Web.Features.Training;

/// <summary>The validation metrics recorded after each epoch of a run: the run page's metric curves.</summary>
public static class GetTrainingMetrics
{
    public sealed record Query(long Id) : IQuery<Result>;

    public sealed record Result(IReadOnlyList<EpochMetrics> Epochs);

    public sealed record EpochMetrics(int Step, int Epoch, double? Auc, double? LogLoss, double? HitRate10, double? Ndcg10);

    public sealed class Validator : AbstractValidator<Query>
    {
        public Validator() => RuleFor(q => q.Id).GreaterThan(0);
    }

    public sealed class Handler(DiscountsDbContext db) : IQueryHandler<Query, Result>
    {
        public async ValueTask<Result> Handle(Query query, CancellationToken cancellationToken)
        {
            if (!await db.TrainingRuns.AnyAsync(r => r.Id == query.Id, cancellationToken))
                throw new NotFoundException("Training run", query.Id.ToString(CultureInfo.InvariantCulture));
            var points = await db.LossPoints.AsNoTracking()
                // A sequence run measures validation NDCG@10 with each epoch's training point.
                .Where(p => p.TrainingRunId == query.Id && (p.Split == LossSplit.Validation || p.MetricsJson != null))
                .OrderBy(p => p.Step)
                .Select(p => new { p.Step, p.Epoch, p.MetricsJson })
                .ToListAsync(cancellationToken);
            return new Result(points.Select(p => Read(p.Step, p.Epoch, p.MetricsJson)).ToList());
        }

        private static EpochMetrics Read(int step, int epoch, string? json)
        {
            if (string.IsNullOrEmpty(json)) return new EpochMetrics(step, epoch, null, null, null, null);
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            return new EpochMetrics(step, epoch, Number(root, "auc"), Number(root, "logLoss"), Number(root, "hitRate10"), Number(root, "ndcg10"));
        }

        private static double? Number(JsonElement root, string name) =>
            root.ValueKind == JsonValueKind.Object && root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetDouble() : null;
    }

    public static void Map(RouteGroupBuilder group) =>
        group.MapGet("/runs/{id:long}/metrics", async (long id, ISender sender, CancellationToken cancellationToken) =>
                TypedResults.Ok(await sender.Send(new Query(id), cancellationToken)))
            .WithName("GetTrainingMetrics")
            .WithSummary("The validation metrics of a fine-tuning run, per epoch")
            .WithDescription("AUC, log loss, hit rate at 10 and NDCG at 10 on the validation split after each epoch.")
            .RequireAuthorization(Policies.Read)
            .ProducesProblem(StatusCodes.Status404NotFound);
}
