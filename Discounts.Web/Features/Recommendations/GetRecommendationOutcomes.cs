using System.Text.Json;
using Discounts.Core.Serving;
using Discounts.Core.Data;
using Discounts.Core.Domain;
using Discounts.Core.Recommending;
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
    public sealed record Outcome(string ModelVersion, int Lists, long Impressions, int Clicks, int Conversions, double ClickThroughRate, double ConversionRate);

    public sealed record Blend(string Version, string ModelVersion, DateTime FittedAt, IReadOnlyDictionary<string, double> Weights, double Intercept, JsonElement Metrics);

    public sealed class Validator : AbstractValidator<Query>;

    public sealed class Handler(DiscountsDbContext db, IRecommendationService recommendations) : IQueryHandler<Query, Result>
    {
        public async ValueTask<Result> Handle(Query query, CancellationToken cancellationToken)
        {
            await recommendations.FlushImpressionsAsync(cancellationToken);
            var shown = await db.RecommendationLists.AsNoTracking()
                .GroupBy(l => l.ModelVersion)
                .Select(g => new { ModelVersion = g.Key, Lists = g.Count(), Impressions = g.Sum(l => (long)l.ItemCount) })
                .ToListAsync(cancellationToken);
            var acted = (await (
                    from e in db.Events.AsNoTracking()
                    where e.RecommendationId != null && (e.Kind == EventKind.Click || e.Kind == EventKind.Purchase)
                    join l in db.RecommendationLists.AsNoTracking() on e.RecommendationId equals l.RecommendationId
                    select new { List = l.Id, l.ModelVersion, l.Items, e.ItemId, e.Kind })
                .ToListAsync(cancellationToken))
                .GroupBy(a => a.List)
                .SelectMany(list =>
                {
                    var showed = ShownItems.Parse(list.First().Items).Select(i => i.ItemId).ToHashSet();
                    return list.Where(a => showed.Contains(a.ItemId)).Select(a => (a.ModelVersion, a.List, a.ItemId, a.Kind)).Distinct();
                })
                .ToList();
            var outcomes = shown.OrderBy(s => s.ModelVersion, StringComparer.Ordinal).Select(s =>
            {
                var clicks = acted.Count(a => a.ModelVersion == s.ModelVersion && a.Kind == EventKind.Click);
                var conversions = acted.Count(a => a.ModelVersion == s.ModelVersion && a.Kind == EventKind.Purchase);
                return new Outcome(s.ModelVersion, s.Lists, s.Impressions, clicks, conversions,
                    Rate(clicks, s.Impressions), Rate(conversions, s.Impressions));
            }).ToList();

            var blends = (await db.RecommendationBlends.AsNoTracking().OrderByDescending(b => b.FittedAt).ThenByDescending(b => b.Id).Take(20).ToListAsync(cancellationToken))
                .Select(b =>
                {
                    var stored = JsonSerializer.Deserialize<StoredBlendWeights>(b.WeightsJson)!;
                    return new Blend(b.Version, b.ModelVersion, b.FittedAt, stored.Weights, stored.Intercept, JsonDocument.Parse(b.MetricsJson).RootElement.Clone());
                }).ToList();
            return new Result(outcomes, blends);
        }

        /// <summary>Empty lists (an empty catalogue) count as lists but show nothing, so a version may have no impressions.</summary>
        private static double Rate(int count, long impressions) => impressions == 0 ? 0 : Math.Round((double)count / impressions, 6);
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
