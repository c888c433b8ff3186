using Discounts.Core.Domain;

namespace Discounts.Core.Profiling;

/// <summary>One event as the behavioural profile needs it: the item's category and whether its offer was an exploration quote.</summary>
public sealed record BehaviourEvent(
    EventKind Kind, string Category, long? PriceCents, int DiscountPercent, long? OfferId, bool IsExplorationOffer, DateTime OccurredAt);

public sealed record CategoryAffinity(string Category, double Share);

/// <summary>Purchase rates on randomised (exploration) offers, with and without a discount; null when there were none.</summary>
public sealed record DiscountResponse(int DiscountedOffers, double? DiscountedPurchaseRate, int FullPriceOffers, double? FullPricePurchaseRate)
{
    /// <summary>How much a discount raised the purchase rate, in rate points; null until both arms have offers.</summary>
    public double? Lift => DiscountedPurchaseRate - FullPricePurchaseRate;
}

public sealed record BehaviourFigures(
    double? RecencyDays,
    double? DaysSinceLastActivity,
    int Purchases,
    double PurchasesPer30Days,
    long MonetaryCents,
    int Events,
    IReadOnlyList<CategoryAffinity> CategoryAffinity,
    double AverageDiscountPercent,
    double DiscountedPurchaseShare,
    DiscountResponse ExplorationResponse,
    double PriceSensitivity,
    double ChurnRisk)
{
    public static BehaviourFigures Empty { get; } = new(null, null, 0, 0, 0, 0, [], 0, 0, new DiscountResponse(0, null, 0, null), 0, 0.5);
}

/// <summary>Recency, frequency, monetary value, category affinity, discount taking, price sensitivity and churn risk from a user's events.</summary>
public static class BehaviourProfile
{
    /// <summary>A purchase says more about taste than a cart, a cart more than a click, a click more than a view.</summary>
    private static readonly Dictionary<EventKind, double> AffinityWeights = new()
    {
        [EventKind.View] = 1, [EventKind.Click] = 2, [EventKind.Cart] = 3, [EventKind.Purchase] = 5,
    };

    public static BehaviourFigures Compute(IReadOnlyCollection<BehaviourEvent> events, DateTime nowUtc, int affinityCount = 5)
    {
        if (events.Count == 0)
        {
            return BehaviourFigures.Empty;
        }

        var purchases = events.Where(e => e.Kind == EventKind.Purchase).OrderBy(e => e.OccurredAt).ToList();
        var firstSeen = events.Min(e => e.OccurredAt);
        var lastSeen = events.Max(e => e.OccurredAt);
        var activeDays = Math.Max(1, (nowUtc - firstSeen).TotalDays);
        double? recency = purchases.Count > 0 ? Math.Round((nowUtc - purchases[^1].OccurredAt).TotalDays, 2) : null;

        var affinity = events
            .Where(e => AffinityWeights.ContainsKey(e.Kind))
            .GroupBy(e => e.Category)
            .Select(g => (Category: g.Key, Weight: g.Sum(e => AffinityWeights[e.Kind])))
            .ToList();
        var totalWeight = affinity.Sum(a => a.Weight);
        var topCategories = affinity.OrderByDescending(a => a.Weight).ThenBy(a => a.Category, StringComparer.Ordinal)
            .Take(affinityCount)
            .Select(a => new CategoryAffinity(a.Category, Math.Round(a.Weight / totalWeight, 4)))
            .ToList();

        var response = ExplorationResponse(events);
        var discountedShare = purchases.Count > 0 ? purchases.Count(p => p.DiscountPercent > 0) / (double)purchases.Count : 0;
        return new BehaviourFigures(
            RecencyDays: recency,
            DaysSinceLastActivity: Math.Round((nowUtc - lastSeen).TotalDays, 2),
            Purchases: purchases.Count,
            PurchasesPer30Days: Math.Round(purchases.Count * 30 / activeDays, 4),
            MonetaryCents: purchases.Sum(p => p.PriceCents ?? 0),
            Events: events.Count,
            CategoryAffinity: topCategories,
            AverageDiscountPercent: purchases.Count > 0 ? Math.Round(purchases.Average(p => p.DiscountPercent), 2) : 0,
            DiscountedPurchaseShare: Math.Round(discountedShare, 4),
            ExplorationResponse: response,
            PriceSensitivity: Math.Round(PriceSensitivity(response, discountedShare, purchases.Count), 4),
            ChurnRisk: Math.Round(ChurnRisk(purchases, lastSeen, nowUtc), 4));
    }

    /// <summary>
    /// Purchase rate on exploration offers shown with a discount versus those shown at 0 %. The levels were drawn at
    /// random, so the difference is the user's causal response to a discount, not a selection effect.
    /// </summary>
    private static DiscountResponse ExplorationResponse(IReadOnlyCollection<BehaviourEvent> events)
    {
        var bought = events.Where(e => e is { Kind: EventKind.Purchase, OfferId: not null }).Select(e => e.OfferId!.Value).ToHashSet();
        var shown = events.Where(e => e is { Kind: EventKind.OfferShown, IsExplorationOffer: true, OfferId: not null })
            .DistinctBy(e => e.OfferId).ToList();
        var discounted = shown.Where(e => e.DiscountPercent > 0).ToList();
        var fullPrice = shown.Where(e => e.DiscountPercent == 0).ToList();
        double? Rate(List<BehaviourEvent> offers) =>
            offers.Count > 0 ? Math.Round(offers.Count(o => bought.Contains(o.OfferId!.Value)) / (double)offers.Count, 4) : null;
        return new DiscountResponse(discounted.Count, Rate(discounted), fullPrice.Count, Rate(fullPrice));
    }

    /// <summary>
    /// 0 (indifferent) to 1 (buys only on discount). The randomised lift is the honest signal; with little of it, lean
    /// on the share of purchases made on discount, shrunk towards the neutral 0.5 when there are few purchases.
    /// </summary>
    private static double PriceSensitivity(DiscountResponse response, double discountedShare, int purchases)
    {
        var observed = purchases / (purchases + 3.0) * discountedShare + 3.0 / (purchases + 3.0) * 0.5;
        if (response.Lift is not { } lift)
        {
            return observed;
        }

        // A lift of +0.3 in purchase rate is already a strong response; map lifts onto [0, 1] around 0.5.
        var fromLift = Math.Clamp(0.5 + lift / 0.6, 0, 1);
        var evidence = Math.Min(response.DiscountedOffers, response.FullPriceOffers);
        var weight = evidence / (evidence + 2.0);
        return weight * fromLift + (1 - weight) * observed;
    }

    /// <summary>
    /// The chance the user has lapsed: time since their last sign of life measured against their own rhythm (the
    /// mean gap between purchases, or 30 days when they have too few), squashed as r / (r + 2·gap). Silence for twice
    /// one's usual gap gives 0.5.
    /// </summary>
    private static double ChurnRisk(List<BehaviourEvent> purchases, DateTime lastSeen, DateTime nowUtc)
    {
        var typicalGap = purchases.Count >= 2
            ? Math.Max(1, (purchases[^1].OccurredAt - purchases[0].OccurredAt).TotalDays / (purchases.Count - 1))
            : 30;
        var silence = Math.Max(0, (nowUtc - lastSeen).TotalDays);
        return silence / (silence + 2 * typicalGap);
    }
}
