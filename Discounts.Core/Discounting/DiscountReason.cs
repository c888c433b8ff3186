using System.Globalization;

namespace Discounts.Core.Discounting;

/// <summary>The words a quote carries: the expected uplift, the margin left after the discount, and the facts behind it.</summary>
public static class DiscountReason
{
    /// <param name="dealWords">
    /// The learned price language's words when the user's own searches and chats read as deal-seeking
    /// (<see cref="PriceLanguage.SeeksDeals"/>); null otherwise. Said only of a discount, which that reading helped price.
    /// </param>
    public static string Describe(PolicyDecision decision, long costCents, string category, UserSignals user, IReadOnlyList<string>? dealWords = null)
    {
        var facts = Facts(category, user, decision.Percent > 0 || decision.Coupon is not null ? dealWords : null);
        var limits = decision.Constraints.Count > 0 ? $" Limits: {string.Join("; ", decision.Constraints)}." : "";
        if (decision.Percent == 0)
        {
            var why = decision.ProbabilityWithout >= 0.5
                ? $"you are likely to buy at the full price (chance {Percent(decision.ProbabilityWithout)})"
                : $"no discount level is expected to pay for itself (chance of buying {Percent(decision.ProbabilityWithout)} at full price)";
            return $"No discount: {why}.{facts}{limits}";
        }

        if (decision.Coupon is { } coupon)
        {
            return $"A {Money(coupon.AmountOffCents)} coupon on baskets of {Money(coupon.MinimumBasketCents)} or more, chosen over percent off this item: "
                   + $"the customer's baskets average {Money(user.AverageBasketCents)}, so it is worth {coupon.EffectivePercent:F1}% of the basket; "
                   + $"we expect the chance of buying to rise from {Percent(decision.ProbabilityWithout)} to {Percent(coupon.ProbabilityWith)}, "
                   + $"worth {Money(coupon.ExpectedIncrementalProfitCents)} in expected extra profit.{facts}{limits}";
        }

        var margin = decision.FinalPriceCents - costCents;
        var marginShare = decision.FinalPriceCents == 0 ? 0 : margin / (double)decision.FinalPriceCents;
        var exploration = decision.IsExploration ? " This level was drawn at random to keep learning what discounts do." : "";
        return $"{decision.Percent}% off: we expect the chance of buying to rise from {Percent(decision.ProbabilityWithout)} "
               + $"to {Percent(decision.ProbabilityWith)} (uplift {Points(decision.ProbabilityWith - decision.ProbabilityWithout)}), "
               + $"worth {Money(decision.ExpectedIncrementalProfitCents)} in expected extra profit; "
               + $"the margin after the discount is {Money(margin)} ({Percent(marginShare)}).{facts}{exploration}{limits}";
    }

    private static string Facts(string category, UserSignals user, IReadOnlyList<string>? dealWords)
    {
        var facts = new List<string>();
        if (dealWords is not null)
        {
            facts.Add(dealWords.Count > 0
                ? $"often looks for deals in what they write (words such as {string.Join(", ", dealWords.Take(3).Select(w => $"'{w}'"))})"
                : "often looks for deals in what they write");
        }

        if (user.Purchases > 0)
        {
            facts.Add($"{Percent(user.ShareBoughtOnDiscount)} of {user.Purchases} past purchases were on discount");
        }
        else
        {
            facts.Add("no purchase history yet");
        }

        if (user.CategoryAffinity > 0)
        {
            facts.Add($"{category} is {Percent(user.CategoryAffinity)} of what they browse and buy");
        }

        if (user.Purchases > 0)
        {
            facts.Add($"last purchase {user.DaysSinceLastPurchase:F0} days ago");
        }

        return $" Profile: {string.Join("; ", facts)}.";
    }

    private static string Percent(double share) => share.ToString("P0", CultureInfo.InvariantCulture).Replace(" ", "", StringComparison.Ordinal);

    private static string Points(double difference) => $"{difference * 100:+0.0;-0.0} points";

    private static string Money(double cents) => (cents / 100).ToString("0.00", CultureInfo.InvariantCulture);
}
