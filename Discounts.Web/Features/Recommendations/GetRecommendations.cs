using System.Globalization;
using System.Security.Cryptography;
using Discounts.Core.Domain;
using Discounts.Core.Discounting;
using Discounts.Core.Serving;
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
    public sealed record Result(string UserId, string RecommendationId, string ModelVersion, string BlendVersion, IReadOnlyList<RecommendedItem> Items);

    public sealed class Validator : AbstractValidator<Query>
    {
        public Validator()
        {
            RuleFor(q => q.Id).ValidExternalId();
            RuleFor(q => q.Count).InclusiveBetween(1, MaxCount).WithMessage($"count must be between 1 and {MaxCount}.");
        }
    }

    public sealed class Handler(
        IRecommendationService recommendations, IDiscountQuoter quoter, IOptions<Core.Discounting.DiscountingOptions> discountingOptions, TimeProvider clock)
        : IQueryHandler<Query, Result>
    {
        public async ValueTask<Result> Handle(Query query, CancellationToken cancellationToken)
        {
            var ranking = await recommendations.RankAsync(query.Id, query.Count, cancellationToken) ?? throw new NotFoundException("User", query.Id);
            var phase = System.Diagnostics.Stopwatch.GetTimestamp();
            var now = clock.GetUtcNow().UtcDateTime;
            var recommendationId = NewRecommendationId(now);
            var quotes = query.WithDiscounts && ranking.Items.Count > 0
                ? await QuoteAsync(query.Id, ranking.Items.Select(i => i.ItemId).ToList(), cancellationToken)
                : new Dictionary<string, DiscountQuote>();
            if (query.WithDiscounts)
            {
                recommendations.RecordPhase("quotes", phase);
            }

            var items = query.WithDiscounts
                ? ranking.Items.Select(i => i with { Discount = quotes.GetValueOrDefault(i.ItemId) }).ToList()
                : ranking.Items;

            recommendations.RecordServed(new ServedList(recommendationId, ranking.UserId, ranking.ModelVersion, ranking.BlendVersion, now, ranking.Shown));
            return new Result(query.Id, recommendationId, ranking.ModelVersion, ranking.BlendVersion, items);
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
