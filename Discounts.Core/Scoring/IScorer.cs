namespace Discounts.Core.Scoring;

/// <summary>Which registered model a snapshot serves; <see cref="ModelVersionId"/> is null for the base model.</summary>
public sealed record ScorerVersion(long? ModelVersionId, string Name, string Sha256);

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

    EmbeddedBatch EmbedUsers(IReadOnlyList<string> userTexts);

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
