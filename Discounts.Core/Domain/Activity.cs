namespace Discounts.Core.Domain;

public enum TextKind
{
    Review = 0,
    Search = 1,
    Chat = 2,
}

/// <summary>Something a user wrote, already cleaned and scrubbed of personal data before storage.</summary>
public sealed class UserText
{
    public long Id { get; set; }
    public long UserId { get; set; }
    public User? User { get; set; }
    public TextKind Kind { get; set; }
    public required string Text { get; set; }
    public long? ItemId { get; set; }
    public Item? Item { get; set; }
    /// <summary>Star rating 1..5 for reviews.</summary>
    public int? Rating { get; set; }
    public DateTime OccurredAt { get; set; }
}

public enum EventKind
{
    View = 0,
    Click = 1,
    Cart = 2,
    Purchase = 3,
    OfferShown = 4,
    OfferRedeemed = 5,
}

public sealed class InteractionEvent
{
    public long Id { get; set; }
    public long UserId { get; set; }
    public User? User { get; set; }
    public long ItemId { get; set; }
    public Item? Item { get; set; }
    public EventKind Kind { get; set; }
    /// <summary>The price actually paid or shown, after any discount.</summary>
    public long? PriceCents { get; set; }
    /// <summary>Whole percent off the list price, 0 when none.</summary>
    public int DiscountPercent { get; set; }
    public long? OfferId { get; set; }
    public Offer? Offer { get; set; }
    /// <summary>The sender's event id: a replay with the same key is ignored.</summary>
    public required string IdempotencyKey { get; set; }
    public DateTime OccurredAt { get; set; }
    /// <summary>The recommendation list the user acted from, when the shop says so; attributes the event to it.</summary>
    public string? RecommendationId { get; set; }
}
