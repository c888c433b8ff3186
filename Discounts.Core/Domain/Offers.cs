namespace Discounts.Core.Domain;

public enum OfferKind
{
    PercentOff = 0,
    FixedAmountCoupon = 1,
}

public enum OfferStatus
{
    Quoted = 0,
    Redeemed = 1,
    Expired = 2,
}

/// <summary>A discount quoted to one user for one item; the audit trail of every quote.</summary>
public sealed class Offer
{
    public long Id { get; set; }
    /// <summary>The opaque id the shop sees.</summary>
    public required string ExternalId { get; set; }
    public long UserId { get; set; }
    public User? User { get; set; }
    public long ItemId { get; set; }
    public Item? Item { get; set; }
    public long? CampaignId { get; set; }
    public Campaign? Campaign { get; set; }
    public OfferKind Kind { get; set; }
    public int DiscountPercent { get; set; }
    /// <summary>For coupons: cents off and the minimum basket it needs.</summary>
    public long AmountOffCents { get; set; }
    public long MinimumBasketCents { get; set; }
    public long ListPriceCents { get; set; }
    public long FinalPriceCents { get; set; }
    public double ExpectedUplift { get; set; }
    /// <summary>Probability with which the policy chose this level; exploration quotes carry their uniform propensity.</summary>
    public double Propensity { get; set; }
    public bool IsExploration { get; set; }
    public string? ModelVersion { get; set; }
    /// <summary>
    /// The purchase scorer's p(buy) for the user and item at the list price, computed when the quote was made (before
    /// any outcome existed), so the uplift model may learn from it without leakage. Null when no scorer served then.
    /// </summary>
    public double? ScorerProbability { get; set; }
    /// <summary>The scorer version that produced <see cref="ScorerProbability"/>.</summary>
    public string? ScorerVersion { get; set; }
    public string Reason { get; set; } = "";
    public OfferStatus Status { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime ExpiresAt { get; set; }
    public DateTime? RedeemedAt { get; set; }
}

/// <summary>A discount budget. Redemptions decrement it atomically; it is never overspent.</summary>
public sealed class Campaign
{
    public long Id { get; set; }
    public required string ExternalId { get; set; }
    public required string Name { get; set; }
    public long BudgetCents { get; set; }
    public long SpentCents { get; set; }
    public DateTime StartsAt { get; set; }
    public DateTime? EndsAt { get; set; }
    public bool IsActive { get; set; }
}
