using System.Globalization;
using System.Security.Cryptography;
using Discounts.Core.Domain;
using Discounts.Core.Recommending;
using Discounts.Core.Scoring;
using Discounts.Core.Discounting;
using Discounts.Web.Infrastructure;
using FluentValidation;
using Mediator;
using Microsoft.Extensions.Options;

namespace Discounts.Web.Features.Recommendations;

public static class GetRecommendations
{
    public const int MaxCount = 100;

    public sealed record Query(string Id, int Count, bool WithDiscounts) : IQuery<Result>;

    /// <param name="UserId">The shop's id of the user.</param>
    /// <param name="RecommendationId">Send it back with clicks and purchases (<c>recommendationId</c> on POST /api/events/batch) to attribute them.</param>
    /// <param name="ModelVersion">The scorer version that re-ranked the list ("none" while no scorer has loaded).</param>
    /// <param name="BlendVersion">The fitted blend weights used ("prior" until the first fit for this scorer version).</param>
    /// <param name="Items">Best first.</param>
    public sealed record Result(string UserId, string RecommendationId, string ModelVersion, string BlendVersion, IReadOnlyList<Recommendation> Items);

    /// <param name="ItemId">The shop's id of the item.</param>
    /// <param name="Title">The item's title.</param>
    /// <param name="Category">The item's category.</param>
    /// <param name="Score">The blend's chance that the user clicks, carts or buys the item (0–1).</param>
    /// <param name="BuyProbability">The scorer's calibrated p(buy), or null when it could not score the pair.</param>
    /// <param name="Sources">The candidate sources that proposed the item.</param>
    /// <param name="Reason">Why, in words, from the source that contributed most.</param>
    /// <param name="Discount">The discount quote, only with <c>withDiscounts=true</c>.</param>
    public sealed record Recommendation(
        string ItemId, string Title, string Category, double Score, double? BuyProbability, IReadOnlyList<string> Sources, string Reason,
        DiscountQuote? Discount);

    public sealed class Validator : AbstractValidator<Query>
    {
        public Validator()
        {
            RuleFor(q => q.Id).ValidExternalId();
            RuleFor(q => q.Count).InclusiveBetween(1, MaxCount).WithMessage($"count must be between 1 and {MaxCount}.");
        }
    }

    public sealed class Handler(
        Recommender recommender, IScorer scorer, ImpressionLog impressions, IDiscountQuoter quoter, RecommendationCache cache, RankingReads reads,
        IOptions<RecommendationOptions> options, IOptions<Core.Discounting.DiscountingOptions> discountingOptions, TimeProvider clock)
        : IQueryHandler<Query, Result>
    {
        public async ValueTask<Result> Handle(Query query, CancellationToken cancellationToken)
        {
            var phase = System.Diagnostics.Stopwatch.GetTimestamp();
            // Stamps first: anything written after this read changes the next request's stamp, so a list computed
            // from newer data than its stamp is at worst recomputed once, never served stale.
            var user = await reads.HeadAsync(query.Id, cancellationToken) ?? throw new NotFoundException("User", query.Id);
            var index = await recommender.GetIndexAsync(cancellationToken);
            var version = scorer.ActiveVersion;
            var modelVersion = version?.Name ?? "none";
            var blend = recommender.BlendFor(modelVersion);
            var stamp = new RankingStamp(user.ProfileVersion, user.Events, user.LastEventId, index, version, blend.Version);
            var ranking = cache.Get(user.Id, query.Count, stamp);
            phase = recommender.RecordPhase(ranking is null ? "load" : "cached", phase);
            if (ranking is null)
            {
                ranking = await RankAsync(query, user.Id, stamp, index, version, blend, phase, cancellationToken);
                // A scorer swapped mid-request leaves the list without p(buy); only a list ranked by the version in its stamp is kept.
                if (scorer.ActiveVersion == version)
                {
                    cache.Set(user.Id, query.Count, ranking);
                }

                phase = System.Diagnostics.Stopwatch.GetTimestamp();
            }

            var now = clock.GetUtcNow().UtcDateTime;
            var recommendationId = NewRecommendationId(now);
            var quotes = query.WithDiscounts && ranking.Items.Count > 0
                ? await QuoteAsync(query.Id, ranking.Items.Select(i => i.ItemId).ToList(), cancellationToken)
                : new Dictionary<string, DiscountQuote>();
            if (query.WithDiscounts)
            {
                recommender.RecordPhase("quotes", phase);
            }

            var items = query.WithDiscounts
                ? ranking.Items.Select(i => i with { Discount = quotes.GetValueOrDefault(i.ItemId) }).ToList()
                : ranking.Items;

            impressions.Add(new ServedList(recommendationId, user.Id, ranking.ModelVersion, ranking.BlendVersion, now, ranking.Shown));
            return new Result(query.Id, recommendationId, ranking.ModelVersion, ranking.BlendVersion, items);
        }

        /// <summary>The full computation: the user's profile and history, candidates, p(buy), the blend and diversity.</summary>
        private async Task<CachedRanking> RankAsync(
            Query query, long userId, RankingStamp stamp, CatalogueIndex index, ScorerVersion? version, BlendModel blend, long phase,
            CancellationToken cancellationToken)
        {
            var events = await reads.HistoryAsync(userId, cancellationToken);
            var matrix = recommender.Matrix(index);
            var profile = await recommender.ProfileCandidatesAsync(userId, stamp.ProfileVersion, index, matrix, version, reads.ProfileAsync, cancellationToken);
            phase = recommender.RecordPhase("load", phase);

            var history = new List<int>(events.Count);
            var bought = new HashSet<int>();
            for (var i = events.Count - 1; i >= 0; i--)
            {
                if (index.RowOf(events[i].ItemId) is { } row)
                {
                    history.Add(row);
                    if (events[i].Kind == EventKind.Purchase)
                    {
                        bought.Add(row);
                    }
                }
            }

            var user = new UserContext(history, bought, profile);
            var candidates = RankingEngine.Candidates(index, user, options.Value.CandidatesPerSource);
            phase = recommender.RecordPhase("candidates", phase);
            RankingEngine.AddBuyProbabilities(scorer, version, profile.Vector, index, candidates);
            phase = recommender.RecordPhase("scorer", phase);
            var stranger = RankingEngine.IsStranger(user);
            var chosen = RankingEngine.Order(index, candidates, blend, stranger, RankingRules.Serving(options.Value), query.Count);
            var items = new Recommendation[chosen.Count];
            var shown = new ShownItem[chosen.Count];
            for (var i = 0; i < chosen.Count; i++)
            {
                var c = chosen[i];
                var item = index.Items[c.Item];
                items[i] = new Recommendation(item.ExternalId, item.Title, item.Category, Math.Round(c.Score, 6),
                    c.BuyProbability is { } p ? Math.Round(p, 6) : null,
                    c.Sources, index.Catalogue.Reasons.Describe(c, blend.StrongestSource(c.Features)), null);
                shown[i] = new ShownItem(item.Id, c.Score, RecommendationFeatures.SourceListOf(c.Features));
            }

            recommender.RecordPhase("rank", phase);
            return new CachedRanking(stamp, version?.Name ?? "none", stranger ? "popularity" : blend.Version, items, ShownItems.Of(shown));
        }

        /// <summary>
        /// "rec_", the serving time in milliseconds (12 hex digits) and 8 random bytes: unguessable, and in time order,
        /// so the stored lists' unique index grows only at its end.
        /// </summary>
        public static string NewRecommendationId(DateTime now)
        {
            Span<byte> random = stackalloc byte[8];
            RandomNumberGenerator.Fill(random);
            return string.Concat("rec_", (new DateTimeOffset(now).ToUnixTimeMilliseconds()).ToString("x12", CultureInfo.InvariantCulture), Convert.ToHexStringLower(random));
        }

        /// <summary>Quotes through the discounting slice itself, so its policy, guardrails and audit trail apply unchanged.</summary>
        private async Task<Dictionary<string, DiscountQuote>> QuoteAsync(string userId, List<string> itemIds, CancellationToken cancellationToken)
        {
            var quotes = new Dictionary<string, DiscountQuote>(StringComparer.Ordinal);
            foreach (var chunk in itemIds.Chunk(QuoteChunk))
            {
                foreach (var quote in await quoter.QuoteAsync(userId, chunk, cancellationToken))
                {
                    quotes[quote.ItemId] = quote;
                }
            }

            return quotes;
        }

        private int QuoteChunk => Math.Max(1, discountingOptions.Value.MaxItemsPerQuote);
    }

    public static void Map(RouteGroupBuilder group) =>
        group.MapGet("/users/{id}/recommendations", async (string id, int? count, bool? withDiscounts, ISender sender, CancellationToken cancellationToken) =>
                TypedResults.Ok(await sender.Send(new Query(id, count ?? 10, withDiscounts ?? false), cancellationToken)))
            .WithName("GetRecommendations")
            .WithSummary("Recommend items for a user, each with its score, sources and reason")
            .WithDescription("Candidates from co-occurrence, profile text, scorer embeddings, popularity, trending and new items, re-ranked by the "
                             + "active scorer's p(buy) and a blend learned on held-out data, with at most N items of one category in the top 10. "
                             + "Already-bought items are left out unless their category is consumable. withDiscounts=true attaches a stored discount quote to each item.")
            .RequireAuthorization(Policies.Shop)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound);
}
