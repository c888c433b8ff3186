using Discounts.Core.Domain;

namespace Discounts.Core.Scoring;

/// <summary>
/// Which registered model a snapshot serves; <see cref="ModelVersionId"/> is null for the base model. A version that
/// <paramref name="ReadsHistory"/> embeds a user from their recent items, so its user vectors go stale with each new event.
/// </summary>
public sealed record ScorerVersion(long? ModelVersionId, string Name, string Sha256, bool ReadsHistory = false);

/// <summary>
/// A user as the scorer's user tower reads them: their profile text, their recent items and their recent texts
/// (searches, reviews, chats), newest first. The two-tower model reads the profile text; the sequence scorer reads
/// the items and texts, and the profile text only when it has neither.
/// </summary>
public sealed record ScorerUser(string Text, IReadOnlyList<long> RecentItemIds, IReadOnlyList<string>? RecentTexts = null)
{
    public static ScorerUser OfText(string text) => new(text, []);
}

/// <summary>
/// The events that count as interest shown: the blend's labels, and what the sequence scorer reads and learns to
/// predict. One list, so the scorer is trained on the blend's positives.
/// </summary>
public static class ScorerHistory
{
    /// <summary>The most recent items read; with <see cref="MaxTexts"/>, the sequence scorer's twenty places.</summary>
    public const int MaxItems = 15;

    public const int MaxTexts = 5;

    public static readonly EventKind[] Kinds = [EventKind.Click, EventKind.Cart, EventKind.Purchase];

    public static bool Counts(EventKind kind) => Array.IndexOf(Kinds, kind) >= 0;

    /// <summary>The distinct items of counted events, newest first, from events given newest first; at most <see cref="MaxItems"/>.</summary>
    public static long[] Recent(IEnumerable<(long ItemId, EventKind Kind)> newestFirst)
    {
        var items = new List<long>(MaxItems);
        foreach (var (itemId, kind) in newestFirst)
        {
            if (Counts(kind) && !items.Contains(itemId))
            {
                items.Add(itemId);
                if (items.Count == MaxItems) break;
            }
        }

        return [.. items];
    }
}

/// <summary>One (user, item) pair to score: the user as profile text, the item by its database id.</summary>
public sealed record ScoringPair(string UserText, long ItemId);

/// <summary>Probabilities for a batch, all from the one model version named.</summary>
public sealed record ScoredBatch(ScorerVersion Version, IReadOnlyList<float> Probabilities);

/// <summary>Embeddings for a batch, all from the one model version named.</summary>
public sealed record EmbeddedBatch(ScorerVersion Version, IReadOnlyList<float[]> Vectors);

/// <summary>Every item vector a version holds, flat in <see cref="ItemIds"/> order (<see cref="Dimension"/> floats each).</summary>
public sealed record CatalogueEmbedding(ScorerVersion Version, IReadOnlyList<long> ItemIds, float[] Vectors, int Dimension);

/// <summary>
/// The purchase scorer: (user, item) pairs to calibrated probabilities of buying. The implementation behind it can be
/// swapped while requests are in flight; each call is answered wholly by one version, which the result names.
/// </summary>
public interface IScorer
{
    /// <summary>The version serving now, or null before the first model has loaded.</summary>
    ScorerVersion? ActiveVersion { get; }

    ScoredBatch Score(IReadOnlyList<ScoringPair> pairs);

    EmbeddedBatch EmbedUsers(IReadOnlyList<ScorerUser> users);

    /// <summary>Item vectors by database id; an unknown id is an <see cref="ArgumentException"/>.</summary>
    EmbeddedBatch EmbedItems(IReadOnlyList<long> itemIds);

    /// <summary>The whole item matrix of the version serving now (items are embedded once per version, when it loads).</summary>
    CatalogueEmbedding EmbedCatalogue();

    /// <summary>
    /// p(buy) for one user vector (from <see cref="EmbedUsers"/>) against many items, without embedding the user again.
    /// Null when <paramref name="version"/>, which produced the vector, no longer serves; items the version has not
    /// embedded (added to the catalogue after it loaded) get NaN.
    /// </summary>
    ScoredBatch? ScoreUserVector(ScorerVersion version, float[] userVector, IReadOnlyList<long> itemIds);
}
