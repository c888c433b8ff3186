namespace Discounts.Core.Domain;

/// <summary>
/// One item shown in one recommendation list. Clicks and purchases the shop posts back with the list's
/// <see cref="RecommendationId"/> are attributed to the row of the item they name.
/// </summary>
public sealed class RecommendationImpression
{
    public long Id { get; set; }
    /// <summary>The opaque id of the whole list, returned to the shop as <c>recommendationId</c>.</summary>
    public required string RecommendationId { get; set; }
    public long UserId { get; set; }
    public long ItemId { get; set; }
    /// <summary>0-based place in the list.</summary>
    public int Position { get; set; }
    public double Score { get; set; }
    /// <summary>The candidate sources that proposed the item, comma-separated.</summary>
    public string Sources { get; set; } = "";
    /// <summary>The scorer version that re-ranked the list ("none" while no scorer had loaded).</summary>
    public required string ModelVersion { get; set; }
    public string BlendVersion { get; set; } = "";
    public DateTime CreatedAt { get; set; }
}

/// <summary>
/// Weights of the final blend (scorer and candidate sources), learned on a held-out time split for one scorer version.
/// The newest row for the serving scorer version is the one used.
/// </summary>
public sealed class RecommendationBlend
{
    public long Id { get; set; }
    public required string Version { get; set; }
    public required string ModelVersion { get; set; }
    /// <summary>Feature name to weight, plus the intercept, as JSON.</summary>
    public string WeightsJson { get; set; } = "{}";
    /// <summary>How the fit went: validation users, examples, positives, log loss, AUC, hit rates, as JSON.</summary>
    public string MetricsJson { get; set; } = "{}";
    public DateTime FittedAt { get; set; }
}
