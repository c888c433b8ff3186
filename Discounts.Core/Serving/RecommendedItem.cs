using Discounts.Core.Discounting;

namespace Discounts.Core.Serving;

/// <param name="ItemId">The shop's id of the item.</param>
/// <param name="Title">The item's title.</param>
/// <param name="Category">The item's category.</param>
/// <param name="Score">The blend's chance that the user clicks, carts or buys the item (0–1).</param>
/// <param name="BuyProbability">The scorer's calibrated p(buy), or null when it could not score the pair.</param>
/// <param name="Sources">The candidate sources that proposed the item.</param>
/// <param name="Reason">Why, in words, from the source that contributed most.</param>
/// <param name="Discount">The discount quote, only with <c>withDiscounts=true</c>.</param>
public sealed record RecommendedItem(
    string ItemId, string Title, string Category, double Score, double? BuyProbability, IReadOnlyList<string> Sources, string Reason,
    DiscountQuote? Discount);
