using System.Text.Json;
using Discounts.Core.Data;
using Discounts.Core.Domain;
using Discounts.Web.Infrastructure;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace Discounts.Web.Features.Recommendations;

public static class GetRecommendationOutcomes
{
    public sealed record Query : IQuery<Result>;

    /// <param name="ByModelVersion">Online outcomes of the lists each scorer version ranked.</param>
    /// <param name="Blends">The fitted blend weights, newest first, with how each fit went.</param>
    public sealed record Result(IReadOnlyList<Outcome> ByModelVersion, IReadOnlyList<Blend> Blends);

    /// <param name="ModelVersion">The scorer version that ranked the lists ("none" while no scorer had loaded).</param>
    /// <param name="Lists">Recommendation responses served.</param>
    /// <param name="Impressions">Items shown across those lists.</param>
    /// <param name="Clicks">Shown items with at least one attributed click.</param>
    /// <param name="Conversions">Shown items with at least one attributed purchase.</param>
    /// <param name="ClickThroughRate">Clicks / impressions.</param>
    /// <param name="ConversionRate">Conversions / impressions.</param>
    public sealed record Outcome(string ModelVersion, int Lists, int Impressions, int Clicks, int Conversions, double ClickThroughRate, double ConversionRate);

    public sealed record Blend(string Version, string ModelVersion, DateTime FittedAt, IReadOnlyDictionary<string, double> Weights, double Intercept, JsonElement Metrics);

    public sealed class Validator : AbstractValidator<Query>;

    public sealed class Handler(DiscountsDbContext db, ImpressionLog impressions) : IQueryHandler<Query, Result>
    {
        public async ValueTask<Result> Handle(Query query, CancellationToken cancellationToken)
        {
            await impressions.FlushAsync(cancellationToken);
            var shown = await db.RecommendationImpressions.AsNoTracking()
                .GroupBy(i => new { i.ModelVersion, i.RecommendationId })
                .Select(g => new { g.Key.ModelVersion, Count = g.Count() })
                .ToListAsync(cancellationToken);
            var acted = await (
                    from e in db.Events.AsNoTracking()
                    where e.RecommendationId != null && (e.Kind == EventKind.Click || e.Kind == EventKind.Purchase)
                    join i in db.RecommendationImpressions.AsNoTracking() on new { Id = e.RecommendationId!, e.ItemId } equals new { Id = i.RecommendationId, i.ItemId }
                    select new { Impression = i.Id, i.ModelVersion, e.Kind })
                .Distinct()
                .ToListAsync(cancellationToken);
            var outcomes = shown.GroupBy(s => s.ModelVersion).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g =>
            {
                var impressionsShown = g.Sum(s => s.Count);
                var clicks = acted.Count(a => a.ModelVersion == g.Key && a.Kind == EventKind.Click);
                var conversions = acted.Count(a => a.ModelVersion == g.Key && a.Kind == EventKind.Purchase);
                return new Outcome(g.Key, g.Count(), impressionsShown, clicks, conversions,
                    Math.Round((double)clicks / impressionsShown, 6), Math.Round((double)conversions / impressionsShown, 6));
            }).ToList();

            var blends = (await db.RecommendationBlends.AsNoTracking().OrderByDescending(b => b.FittedAt).ThenByDescending(b => b.Id).Take(20).ToListAsync(cancellationToken))
                .Select(b =>
                {
                    var stored = JsonSerializer.Deserialize<FitRecommendationBlend.StoredWeights>(b.WeightsJson)!;
                    return new Blend(b.Version, b.ModelVersion, b.FittedAt, stored.Weights, stored.Intercept, JsonDocument.Parse(b.MetricsJson).RootElement.Clone());
                }).ToList();
            return new Result(outcomes, blends);
        }
    }

    public static void Map(RouteGroupBuilder group) =>
        group.MapGet("/recommendations/outcomes", async (ISender sender, CancellationToken cancellationToken) =>
                TypedResults.Ok(await sender.Send(new Query(), cancellationToken)))
            .WithName("GetRecommendationOutcomes")
            .WithSummary("Online outcomes of recommendations per scorer version, and the fitted blend weights")
            .WithDescription("Impressions, attributed clicks and purchases (events posted with recommendationId), click-through and conversion rate "
                             + "per model version; and the blend weights learned for each scorer version with their validation figures.")
            .RequireAuthorization(Policies.Read);
}
