using Discounts.Core.Profiling;
using Discounts.Core.Scoring;

namespace Discounts.Core.Recommending;

/// <summary>What one request knows about its user.</summary>
/// <param name="History">Items the user interacted with, as index rows, oldest first.</param>
/// <param name="Bought">Items the user bought.</param>
/// <param name="Interests">Profile keywords and topic words with their weights.</param>
/// <param name="Vector">The scorer's embedding of the profile text, or null without text or scorer.</param>
public sealed record UserSignals(IReadOnlyList<int> History, IReadOnlySet<int> Bought, IReadOnlyList<WeightedTerm> Interests, float[]? Vector)
{
    public static UserSignals Nothing { get; } = new([], new HashSet<int>(), [], null);
}

/// <summary>What the user's profile alone proposes; the same while the profile version, the index and the scorer's item matrix are.</summary>
/// <param name="Content">Items whose text carries the user's keywords and topic words.</param>
/// <param name="Nearest">Items nearest the profile's embedding.</param>
/// <param name="HasInterests">The profile had keywords or topic words.</param>
/// <param name="Vector">The scorer's embedding of the profile text, or null without text or scorer.</param>
public sealed record ProfileCandidates(IReadOnlyList<ProfilePick> Content, IReadOnlyList<ProfilePick> Nearest, bool HasInterests, float[]? Vector)
{
    public static ProfileCandidates None { get; } = new([], [], false, null);
}

/// <summary>One item a profile source proposed.</summary>
/// <param name="Score">Relative to the source's best pick (1).</param>
/// <param name="Term">For the content source, the interest term that matched the item's text most strongly.</param>
public readonly record struct ProfilePick(int Item, float Score, string? Term);

/// <summary>The scorer's item vectors in index-row order; rows the scorer version never embedded are not <see cref="Known"/>.</summary>
/// <param name="SimilarityScale">For a scorer trained by softmax over items, its learned inverse temperature: the
/// nearest items are then scored by their softmax share relative to the best's, exp(scale × (cosine − best cosine)),
/// which spreads what plain cosines crowd just below 1. Null for a scorer without one.</param>
public sealed record ItemMatrix(ScorerVersion Version, float[] Vectors, bool[] Known, int Dimension, float? SimilarityScale = null)
{
    private NearestItemSearch? search;

    /// <summary>The exact scan until a clustered search, built off the request for a large catalogue, replaces it.</summary>
    public NearestItemSearch Search => Volatile.Read(ref search) ?? UseSearch(NearestItemSearch.Exact(Vectors, Known, Dimension));

    public NearestItemSearch UseSearch(NearestItemSearch replacement)
    {
        Volatile.Write(ref search, replacement);
        return replacement;
    }

    public static ItemMatrix From(CatalogueEmbedding embedding, CatalogueIndex index)
    {
        var dimension = embedding.Dimension;
        var vectors = new float[index.Count * dimension];
        var known = new bool[index.Count];
        for (var i = 0; i < embedding.ItemIds.Count; i++)
        {
            if (index.RowOf(embedding.ItemIds[i]) is { } row)
            {
                embedding.Vectors.AsSpan(i * dimension, dimension).CopyTo(vectors.AsSpan(row * dimension, dimension));
                known[row] = true;
            }
        }

        return new ItemMatrix(embedding.Version, vectors, known, dimension);
    }
}

/// <summary>One proposed item with every source's normalised score and what each source based it on.</summary>
public sealed class Candidate(int item)
{
    public int Item { get; } = item;

    /// <summary>Indexed as <see cref="RecommendationFeatures.Names"/>.</summary>
    public float[] Features { get; } = new float[RecommendationFeatures.Count];

    /// <summary>The history item through which a behaviour graph source proposed this one, or -1.</summary>
    public int Anchor { get; set; } = -1;

    /// <summary>The history item whose text is most like this one's, or -1.</summary>
    public int TextAnchor { get; set; } = -1;

    /// <summary>The interest term that matched this item's text most strongly.</summary>
    public string? Term { get; set; }

    public double Score { get; set; }

    /// <summary>The scorer's raw p(buy), or null when it could not score the item (the scorer feature holds its percentile).</summary>
    public float? BuyProbability { get; set; }

    public IReadOnlyList<string> Sources => RecommendationFeatures.SourcesOf(Features);
}

/// <summary>
/// Gathers candidates from every <see cref="CandidateSource"/> for one user and fills their features. Each source
/// proposes its best <see cref="RecommendationOptions.CandidatesPerSource"/> items. Already-bought items outside
/// consumable categories are dropped.
/// </summary>
public static class CandidateGenerator
{
    public static List<Candidate> Generate(CatalogueIndex index, UserSignals user, ItemMatrix? matrix, int perSource) =>
        Generate(index, user.History, user.Bought, FromProfile(index, user.Interests, user.Vector, matrix, perSource), perSource);

    /// <summary>Every source's candidates, with the profile's (content and nearest items) computed beforehand.</summary>
    public static List<Candidate> Generate(CatalogueIndex index, IReadOnlyList<int> history, IReadOnlySet<int> bought, ProfileCandidates profile, int perSource)
    {
        var candidates = CandidateSet.For(index.Count);
        var user = new UserContext(history, bought, profile);
        foreach (var source in CandidateSource.All)
        {
            source.Propose(index, user, perSource, candidates);
        }

        var kept = candidates.TakeInItemOrder(item => !bought.Contains(item) || index.ConsumableCategory[index.CategoryOf[item]]);
        foreach (var candidate in kept)
        {
            candidate.Features[RecommendationFeatures.PopularityIndex] = index.Popularity[candidate.Item];
        }

        return kept;
    }

    /// <summary>
    /// The candidates the profile alone proposes: items whose text carries the user's interests, and the items nearest
    /// the profile's embedding. They depend only on the profile, the index and the scorer's item matrix.
    /// </summary>
    public static ProfileCandidates FromProfile(CatalogueIndex index, IReadOnlyList<WeightedTerm> interests, float[]? vector, ItemMatrix? matrix, int perSource) =>
        new(Content(index, interests, perSource),
            vector is not null && matrix is not null && matrix.Dimension == vector.Length ? Nearest(vector, matrix, perSource) : [],
            interests.Count > 0, vector);

    /// <summary>Items whose text carries the user's keywords and topic words, by TF-IDF.</summary>
    private static List<ProfilePick> Content(CatalogueIndex index, IReadOnlyList<WeightedTerm> interests, int perSource)
    {
        var scores = ScoreAccumulator.For(index.Count);
        for (var term = 0; term < interests.Count; term++)
        {
            var interest = interests[term];
            var tokens = Tokenizer.Tokenize(interest.Term);
            if (tokens.Count == 0 || interest.Weight <= 0)
            {
                continue;
            }

            var termWeight = (float)interest.Weight / tokens.Count;
            foreach (var token in tokens)
            {
                foreach (var (item, itemWeight) in index.Postings(token))
                {
                    scores.Add(item, termWeight * itemWeight, term);
                }
            }
        }

        return scores.TakeTop(perSource).Select(t => new ProfilePick(t.Item, t.Score, interests[t.Strongest].Term)).ToList();
    }

    /// <summary>The items nearest the user's vector by dot product (vectors are unit length, so cosine).</summary>
    private static List<ProfilePick> Nearest(float[] vector, ItemMatrix matrix, int perSource)
    {
        var found = matrix.Search.Search(vector, perSource);
        // Cosines live in [-1, 1]: mapped to [0, 1] relative to the list's best, so a weak list stays weak.
        var top = found.Count == 0 ? 0 : found.Max(f => f.Similarity);
        var picks = new List<ProfilePick>(found.Count);
        foreach (var (item, similarity) in found)
        {
            var scaled = matrix.SimilarityScale is { } scale
                ? (float)Math.Exp(scale * (similarity - top))
                : top <= 0 ? 0 : Math.Max(0, similarity) / top;
            if (scaled > 0)
            {
                picks.Add(new ProfilePick(item, scaled, null));
            }
        }

        return picks;
    }
}
