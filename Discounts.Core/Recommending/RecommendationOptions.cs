using System.ComponentModel.DataAnnotations;

namespace Discounts.Core.Recommending;

public sealed class RecommendationOptions : IValidatableObject
{
    public const string Section = "Recommendations";

    /// <summary>Each candidate source proposes at most this many items per request before the blend ranks the union.</summary>
    [Range(5, 1_000)]
    public int CandidatesPerSource { get; set; } = 60;

    /// <summary>No more than this many items of one category in the first <see cref="DiversityWindow"/> places.</summary>
    [Range(1, 100)]
    public int MaxPerCategory { get; set; } = 3;

    [Range(1, 100)]
    public int DiversityWindow { get; set; } = 10;

    /// <summary>
    /// Categories people buy again and again (serums, coffee, snacks): items already bought in them may be recommended
    /// again; items bought in any other category are never recommended to the same user again.
    /// </summary>
    public List<string> ConsumableCategories { get; set; } = ["Skincare", "Haircare", "Makeup", "Coffee & Tea", "Snacks"];

    /// <summary>Items created within this many days are "new".</summary>
    [Range(1, 365)]
    public int NewItemDays { get; set; } = 30;

    /// <summary>"Trending" counts the interactions of this many recent days.</summary>
    [Range(1, 90)]
    public int TrendingDays { get; set; } = 7;

    /// <summary>How often the candidate indexes are checked against the database and rebuilt when it changed.</summary>
    [Range(1, 86_400)]
    public int RefreshSeconds { get; set; } = 30;

    /// <summary>The blend is fitted on the interactions of the last this-many days, with every source built from the days before.</summary>
    [Range(1, 90)]
    public int ValidationDays { get; set; } = 30;

    /// <summary>At most this many validation users feed one blend fit (the scorer embeds each one's profile).</summary>
    [Range(10, 100_000)]
    public int MaxValidationUsers { get; set; } = 1_000;

    /// <summary>A blend older than this is refitted on fresh data (a new scorer version always gets its own fit at once).</summary>
    [Range(1, 24 * 365)]
    public int BlendMaxAgeHours { get; set; } = 24;

    /// <summary>
    /// How many ranked lists (per user and count) are kept in memory, least recently used dropped first; 0 turns the
    /// cache off. An entry is served only while the user's profile version, their events (count and newest id, read
    /// from the database on every request, so writes through any node count), the catalogue index, the scorer version
    /// and the blend version are all what they were when it was ranked. Discount quotes are never cached.
    /// </summary>
    [Range(0, 1_000_000)]
    public int ResultCacheEntries { get; set; } = 10_000;

    /// <summary>
    /// How many users' profile-derived state (the scorer's embedding of the profile, and the content and nearest-item
    /// candidates it proposes; about 3.5 kB a user at 384 dimensions) is kept in memory. A ranking for a user in it
    /// skips the profile read and the scan over every item vector. When full, an arbitrary tenth is dropped.
    /// </summary>
    [Range(1_000, 10_000_000)]
    public int ProfileCacheEntries { get; set; } = 100_000;

    /// <summary>
    /// From this many embedded items on, the nearest-items source searches a clustered index (√n clusters, built off
    /// the request after each catalogue or model change) instead of scanning every item vector; below it, and until
    /// the index is built, the scan is exact.
    /// </summary>
    [Range(1, int.MaxValue)]
    public int ClusteredSearchFromItems { get; set; } = 20_000;

    /// <summary>
    /// The share of the items a clustered search scans, nearest clusters first (and at least 16 per item wanted);
    /// chosen on a generated 100k catalogue, recall against the exact scan in docs/BENCHMARKS.md.
    /// </summary>
    [Range(0.001, 1)]
    public double ClusteredSearchScanShare { get; set; } = 0.04;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (ConsumableCategories.Any(string.IsNullOrWhiteSpace))
        {
            yield return new ValidationResult("Consumable category names must not be empty.", [nameof(ConsumableCategories)]);
        }
    }
}
