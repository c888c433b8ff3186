using Discounts.Core.Domain;

namespace Discounts.Core.Discounting;

/// <summary>One stored, explained quote for one item: the offer to show, what it costs the shop and why.</summary>
public sealed record DiscountQuote(
    string ItemId,
    string OfferId,
    OfferKind Kind,
    int DiscountPercent,
    long ListPriceCents,
    long FinalPriceCents,
    long AmountOffCents,
    long MinimumBasketCents,
    DateTime ExpiresAt,
    string ModelVersion,
    double ExpectedUplift,
    long ExpectedIncrementalProfitCents,
    bool IsExploration,
    string Reason,
    double? ScorerProbability,
    string? ScorerVersion);

/// <summary>Quotes items for a user through the discount policy and its guardrails, storing each offer; the quote endpoint implements it.</summary>
public interface IDiscountQuoter
{
    Task<IReadOnlyList<DiscountQuote>> QuoteAsync(string userId, IReadOnlyList<string> itemIds, CancellationToken cancellationToken);
}
