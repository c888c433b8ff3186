using System.Text.Json;
using Discounts.Core.Data;
using Discounts.Core.Domain;
using Discounts.Web.Infrastructure;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace Discounts.Web.Features.Models;

public static class ListModels
{
    public sealed record Query : IQuery<Result>;

    public sealed record Result(long? ServingModelVersionId, string? ServingName, IReadOnlyList<ModelSummary> Models);

    public sealed record ModelSummary(
        long Id, string Name, ModelStatus Status, string Sha256, long? TrainingRunId, JsonElement Metrics, DateTime CreatedAt, DateTime? ActivatedAt);

    public sealed class Validator : AbstractValidator<Query>;

    public sealed class Handler(DiscountsDbContext db, Core.Scoring.IScorer scorer) : IQueryHandler<Query, Result>
    {
        public async ValueTask<Result> Handle(Query query, CancellationToken cancellationToken)
        {
            var rows = await db.ModelVersions.AsNoTracking().OrderByDescending(m => m.Id).ToListAsync(cancellationToken);
            var serving = scorer.ActiveVersion;
            return new Result(serving?.ModelVersionId, serving?.Name, rows.Select(m => new ModelSummary(
                m.Id, m.Name, m.Status, m.Sha256, m.TrainingRunId, Parse(m.MetricsJson), m.CreatedAt, m.ActivatedAt)).ToList());
        }

        private static JsonElement Parse(string json)
        {
            using var document = JsonDocument.Parse(json);
            return document.RootElement.Clone();
        }
    }

    public static void Map(RouteGroupBuilder group) =>
        group.MapGet("", async (ISender sender, CancellationToken cancellationToken) =>
                TypedResults.Ok(await sender.Send(new Query(), cancellationToken)))
            .WithName("ListModels")
            .WithSummary("The scorer model registry, newest first, and the version serving now")
            .WithDescription("Each version with its status (candidate, active, retired), checksum and validation metrics.")
            .RequireAuthorization(Policies.Read);
}
