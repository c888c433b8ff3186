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

/// <summary>The scorer's item vectors in index-row order; rows the scorer version never embedded are not <see cref="Known"/>.</summary>
public sealed record ItemMatrix(ScorerVersion Version, float[] Vectors, bool[] Known, int Dimension)
{
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

    /// <summary>The history item that co-occurs most strongly with this one, or -1.</summary>
    public int Anchor { get; set; } = -1;

    /// <summary>The interest term that matched this item's text most strongly.</summary>
    public string? Term { get; set; }

    public double Score { get; set; }

    public IEnumerable<string> Sources =>
        Enumerable.Range(0, RecommendationFeatures.SourceCount).Where(i => Features[i] > 0).Select(i => RecommendationFeatures.Names[i]);
}

/// <summary>
/// Gathers candidates from every source for one user and fills their features. Each source proposes its best
/// <see cref="RecommendationOptions.CandidatesPerSource"/> items, scored relative to its own best (1), so the blend
/// compares sources on one scale. Already-bought items outside consumable categories are dropped.
/// </summary>
public static class CandidateGenerator
{
    public const int CoOccurrenceHistoryItems = 5;
    public const float CoOccurrenceRecencyDecay = 0.7f;

    public static List<Candidate> Generate(CatalogueIndex index, UserSignals user, ItemMatrix? matrix, int perSource)
    {
        var candidates = new Dictionary<int, Candidate>();
        AddCoOccurrence(index, user, perSource, candidates);
        AddContent(index, user, perSource, candidates);
        if (user.Vector is { } vector && matrix is not null && matrix.Dimension == vector.Length)
        {
            AddNearest(index, vector, matrix, perSource, candidates);
        }

        AddList(index.PopularList, index.Popularity, RecommendationFeatures.PopularIndex, candidates);
        AddList(index.TrendingList, index.Trending, RecommendationFeatures.TrendingIndex, candidates);
        AddList(index.NewList, index.Newness, RecommendationFeatures.NewIndex, candidates);
        return candidates.Values
            .Where(c => !user.Bought.Contains(c.Item) || index.ConsumableCategory[index.CategoryOf[c.Item]])
            .OrderBy(c => c.Item)
            .ToList();
    }

    private static Candidate Get(Dictionary<int, Candidate> candidates, int item)
    {
        if (!candidates.TryGetValue(item, out var candidate))
        {
            candidates[item] = candidate = new Candidate(item);
        }

        return candidate;
    }

    /// <summary>Neighbours of the user's last items in the co-occurrence graph; the most recent item counts most.</summary>
    private static void AddCoOccurrence(CatalogueIndex index, UserSignals user, int perSource, Dictionary<int, Candidate> candidates)
    {
        var scores = new Dictionary<int, (float Score, int Anchor, float AnchorWeight)>();
        var weight = 1f;
        var seen = new HashSet<int>();
        for (var position = user.History.Count - 1; position >= 0 && seen.Count < CoOccurrenceHistoryItems; position--)
        {
            var anchor = user.History[position];
            if (!seen.Add(anchor))
            {
                continue;
            }

            var neighbours = index.Graph.Neighbours(anchor);
            var weights = index.Graph.NeighbourWeights(anchor);
            for (var i = 0; i < neighbours.Length; i++)
            {
                var contribution = weight * weights[i];
                var current = scores.GetValueOrDefault(neighbours[i], (Score: 0f, Anchor: -1, AnchorWeight: 0f));
                scores[neighbours[i]] = contribution > current.AnchorWeight
                    ? (current.Score + contribution, anchor, contribution)
                    : (current.Score + contribution, current.Anchor, current.AnchorWeight);
            }

            weight *= CoOccurrenceRecencyDecay;
        }

        foreach (var (item, score, max) in Top(scores.Select(s => (s.Key, s.Value.Score)), perSource))
        {
            var candidate = Get(candidates, item);
            candidate.Features[RecommendationFeatures.CoOccurrenceIndex] = score / max;
            candidate.Anchor = scores[item].Anchor;
        }
    }

    /// <summary>Items whose text carries the user's keywords and topic words, by TF-IDF.</summary>
    private static void AddContent(CatalogueIndex index, UserSignals user, int perSource, Dictionary<int, Candidate> candidates)
    {
        var scores = new Dictionary<int, (float Score, string Term, float TermWeight)>();
        foreach (var interest in user.Interests)
        {
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
                    var contribution = termWeight * itemWeight;
                    var current = scores.GetValueOrDefault(item, (Score: 0f, Term: interest.Term, TermWeight: 0f));
                    scores[item] = contribution > current.TermWeight
                        ? (current.Score + contribution, interest.Term, contribution)
                        : (current.Score + contribution, current.Term, current.TermWeight);
                }
            }
        }

        foreach (var (item, score, max) in Top(scores.Select(s => (s.Key, s.Value.Score)), perSource))
        {
            var candidate = Get(candidates, item);
            candidate.Features[RecommendationFeatures.ContentIndex] = score / max;
            candidate.Term = scores[item].Term;
        }
    }

    /// <summary>Brute-force nearest items to the user's vector by dot product (vectors are unit length, so cosine).</summary>
    private static void AddNearest(CatalogueIndex index, float[] vector, ItemMatrix matrix, int perSource, Dictionary<int, Candidate> candidates)
    {
        var dimension = matrix.Dimension;
        var best = new PriorityQueue<int, float>(perSource + 1);
        var user = vector.AsSpan();
        for (var item = 0; item < index.Count; item++)
        {
            if (!matrix.Known[item])
            {
                continue;
            }

            var similarity = Dot(user, matrix.Vectors.AsSpan(item * dimension, dimension));
            if (best.Count < perSource)
            {
                best.Enqueue(item, similarity);
            }
            else if (best.TryPeek(out _, out var worst) && similarity > worst)
            {
                best.DequeueEnqueue(item, similarity);
            }
        }

        // Cosines live in [-1, 1]: mapped to [0, 1] relative to the list's best, so a weak list stays weak.
        var found = new List<(int Item, float Similarity)>(best.Count);
        while (best.TryDequeue(out var item, out var similarity))
        {
            found.Add((item, similarity));
        }

        var top = found.Count == 0 ? 0 : found.Max(f => f.Similarity);
        foreach (var (item, similarity) in found)
        {
            var scaled = top <= 0 ? 0 : Math.Max(0, similarity) / top;
            if (scaled > 0)
            {
                Get(candidates, item).Features[RecommendationFeatures.EmbeddingIndex] = scaled;
            }
        }
    }

    public static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var width = System.Numerics.Vector<float>.Count;
        var sums = System.Numerics.Vector<float>.Zero;
        var i = 0;
        for (; i <= a.Length - width; i += width)
        {
            sums += new System.Numerics.Vector<float>(a[i..]) * new System.Numerics.Vector<float>(b[i..]);
        }

        var sum = System.Numerics.Vector.Sum(sums);
        for (; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }

    private static void AddList(IReadOnlyList<int> list, float[] scores, int feature, Dictionary<int, Candidate> candidates)
    {
        if (list.Count == 0)
        {
            return;
        }

        var max = scores[list[0]];
        foreach (var item in list)
        {
            Get(candidates, item).Features[feature] = scores[item] / max;
        }
    }

    /// <summary>
    /// The best <paramref name="count"/> positive scores, best first (ties by item), each with the best score. A bounded
    /// heap rather than a sort: on a large catalogue a common term matches thousands of items, and only a few are kept.
    /// </summary>
    private static List<(int Item, float Score, float Max)> Top(IEnumerable<(int Item, float Score)> scores, int count)
    {
        // The heap's minimum is the worst kept entry: lower score first, then higher item (which loses the tie-break).
        var kept = new PriorityQueue<(int Item, float Score), (int Item, float Score)>(count + 1, WorstFirst.Instance);
        foreach (var entry in scores)
        {
            if (!(entry.Score > 0))
            {
                continue;
            }

            if (kept.Count < count)
            {
                kept.Enqueue(entry, entry);
            }
            else if (kept.TryPeek(out _, out var worst) && WorstFirst.Instance.Compare(entry, worst) > 0)
            {
                kept.DequeueEnqueue(entry, entry);
            }
        }

        var top = new List<(int Item, float Score, float Max)>(kept.Count);
        while (kept.TryDequeue(out var entry, out _))
        {
            top.Add((entry.Item, entry.Score, 0));
        }

        top.Reverse();
        return top.Select(t => (t.Item, t.Score, top[0].Score)).ToList();
    }

    private sealed class WorstFirst : IComparer<(int Item, float Score)>
    {
        public static readonly WorstFirst Instance = new();

        public int Compare((int Item, float Score) x, (int Item, float Score) y)
        {
            var byScore = x.Score.CompareTo(y.Score);
            return byScore != 0 ? byScore : y.Item.CompareTo(x.Item);
        }
    }
}
