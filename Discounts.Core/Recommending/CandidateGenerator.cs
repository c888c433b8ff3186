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

    /// <summary>The scorer's raw p(buy), or null when it could not score the item (the scorer feature holds its percentile).</summary>
    public float? BuyProbability { get; set; }

    public IReadOnlyList<string> Sources => RecommendationFeatures.SourcesOf(Features);
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

    public static List<Candidate> Generate(CatalogueIndex index, UserSignals user, ItemMatrix? matrix, int perSource) =>
        Generate(index, user.History, user.Bought, FromProfile(index, user.Interests, user.Vector, matrix, perSource), perSource);

    /// <summary>Every source's candidates, with the profile's (content and nearest items) computed beforehand.</summary>
    public static List<Candidate> Generate(CatalogueIndex index, IReadOnlyList<int> history, IReadOnlySet<int> bought, ProfileCandidates profile, int perSource)
    {
        var candidates = CandidateSet.For(index.Count);
        AddCoOccurrence(index, history, perSource, candidates);
        foreach (var pick in profile.Content)
        {
            var candidate = candidates.Get(pick.Item);
            candidate.Features[RecommendationFeatures.ContentIndex] = pick.Score;
            candidate.Term = pick.Term;
        }

        foreach (var pick in profile.Nearest)
        {
            candidates.Get(pick.Item).Features[RecommendationFeatures.EmbeddingIndex] = pick.Score;
        }

        AddList(index.PopularList, index.Popularity, RecommendationFeatures.PopularIndex, candidates);
        AddList(index.TrendingList, index.Trending, RecommendationFeatures.TrendingIndex, candidates);
        AddList(index.NewList, index.Newness, RecommendationFeatures.NewIndex, candidates);
        return candidates.TakeInItemOrder(item => !bought.Contains(item) || index.ConsumableCategory[index.CategoryOf[item]]);
    }

    /// <summary>
    /// The candidates the profile alone proposes: items whose text carries the user's interests, and the items nearest
    /// the profile's embedding. They depend only on the profile, the index and the scorer's item matrix.
    /// </summary>
    public static ProfileCandidates FromProfile(CatalogueIndex index, IReadOnlyList<WeightedTerm> interests, float[]? vector, ItemMatrix? matrix, int perSource) =>
        new(Content(index, interests, perSource),
            vector is not null && matrix is not null && matrix.Dimension == vector.Length ? Nearest(index, vector, matrix, perSource) : [],
            interests.Count > 0, vector);

    /// <summary>Neighbours of the user's last items in the co-occurrence graph; the most recent item counts most.</summary>
    private static void AddCoOccurrence(CatalogueIndex index, IReadOnlyList<int> history, int perSource, CandidateSet candidates)
    {
        var scores = Accumulator.For(index.Count);
        var weight = 1f;
        Span<int> seen = stackalloc int[CoOccurrenceHistoryItems];
        var anchors = 0;
        for (var position = history.Count - 1; position >= 0 && anchors < CoOccurrenceHistoryItems; position--)
        {
            var anchor = history[position];
            if (seen[..anchors].Contains(anchor))
            {
                continue;
            }

            seen[anchors++] = anchor;
            var neighbours = index.Graph.Neighbours(anchor);
            var weights = index.Graph.NeighbourWeights(anchor);
            for (var i = 0; i < neighbours.Length; i++)
            {
                scores.Add(neighbours[i], weight * weights[i], anchor);
            }

            weight *= CoOccurrenceRecencyDecay;
        }

        foreach (var (item, score, anchor) in scores.TakeTop(perSource))
        {
            var candidate = candidates.Get(item);
            candidate.Features[RecommendationFeatures.CoOccurrenceIndex] = score;
            candidate.Anchor = anchor;
        }
    }

    /// <summary>Items whose text carries the user's keywords and topic words, by TF-IDF.</summary>
    private static List<ProfilePick> Content(CatalogueIndex index, IReadOnlyList<WeightedTerm> interests, int perSource)
    {
        var scores = Accumulator.For(index.Count);
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

    /// <summary>Brute-force nearest items to the user's vector by dot product (vectors are unit length, so cosine).</summary>
    private static List<ProfilePick> Nearest(CatalogueIndex index, float[] vector, ItemMatrix matrix, int perSource)
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

            var similarity = VectorMath.Dot(user, matrix.Vectors.AsSpan(item * dimension, dimension));
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
        var picks = new List<ProfilePick>(found.Count);
        foreach (var (item, similarity) in found)
        {
            var scaled = top <= 0 ? 0 : Math.Max(0, similarity) / top;
            if (scaled > 0)
            {
                picks.Add(new ProfilePick(item, scaled, null));
            }
        }

        return picks;
    }

    private static void AddList(IReadOnlyList<int> list, float[] scores, int feature, CandidateSet candidates)
    {
        if (list.Count == 0)
        {
            return;
        }

        var max = scores[list[0]];
        foreach (var item in list)
        {
            candidates.Get(item).Features[feature] = scores[item] / max;
        }
    }

    /// <summary>
    /// The candidates of one ranking by catalogue row: a dense array and a bit per row, reused by the thread
    /// (generation never awaits). Reading the bits in order gives the candidates in item order without a sort.
    /// </summary>
    private sealed class CandidateSet
    {
        [ThreadStatic]
        private static CandidateSet? current;

        private Candidate?[] byItem = [];
        private ulong[] present = [];
        private bool taken = true;

        /// <summary>Left clean by <see cref="TakeInItemOrder"/>; cleaned here only when a ranking threw before taking.</summary>
        public static CandidateSet For(int items)
        {
            var set = current ??= new CandidateSet();
            if (!set.taken)
            {
                set.TakeInItemOrder(_ => false);
            }

            set.taken = false;
            if (set.byItem.Length < items)
            {
                set.byItem = new Candidate?[items];
                set.present = new ulong[(items + 63) / 64];
            }

            return set;
        }

        public Candidate Get(int item)
        {
            if (byItem[item] is not { } candidate)
            {
                byItem[item] = candidate = new Candidate(item);
                present[item >> 6] |= 1UL << item;
            }

            return candidate;
        }

        /// <summary>The candidates that pass <paramref name="keep"/>, in item order, so everything downstream is deterministic; then clears itself.</summary>
        public List<Candidate> TakeInItemOrder(Func<int, bool> keep)
        {
            var kept = new List<Candidate>();
            for (var word = 0; word < present.Length; word++)
            {
                for (var bits = present[word]; bits != 0; bits &= bits - 1)
                {
                    var item = (word << 6) + System.Numerics.BitOperations.TrailingZeroCount(bits);
                    if (keep(item))
                    {
                        kept.Add(byItem[item]!);
                    }

                    byItem[item] = null;
                }

                present[word] = 0;
            }

            taken = true;
            return kept;
        }
    }

    /// <summary>
    /// One source's scores over catalogue rows, with the strongest single contribution's origin per item: dense arrays
    /// reused by the thread (generation never awaits), so a request allocates nothing per touched item.
    /// </summary>
    private sealed class Accumulator
    {
        [ThreadStatic]
        private static Accumulator? current;

        private readonly List<int> touched = [];
        private float[] scores = [];
        private float[] strongestWeight = [];
        private int[] strongest = [];

        public static Accumulator For(int items)
        {
            var accumulator = current ??= new Accumulator();
            if (accumulator.scores.Length < items)
            {
                accumulator.scores = new float[items];
                accumulator.strongestWeight = new float[items];
                accumulator.strongest = new int[items];
            }

            return accumulator;
        }

        public void Add(int item, float contribution, int origin)
        {
            if (scores[item] == 0 && strongestWeight[item] == 0 && strongest[item] == 0)
            {
                touched.Add(item);
                strongest[item] = -1;
            }

            scores[item] += contribution;
            if (contribution > strongestWeight[item])
            {
                strongestWeight[item] = contribution;
                strongest[item] = origin;
            }
        }

        /// <summary>
        /// The best <paramref name="count"/> positive scores, best first (ties by item), each divided by the best so the
        /// top one is 1; then clears itself. A bounded heap rather than a sort: on a large catalogue a common term
        /// matches thousands of items, and only a few are kept.
        /// </summary>
        public (int Item, float Score, int Strongest)[] TakeTop(int count)
        {
            // The heap's minimum is the worst kept entry: lower score first, then higher item (which loses the tie-break).
            var kept = new PriorityQueue<int, (int Item, float Score)>(count + 1, WorstFirst.Instance);
            foreach (var item in touched)
            {
                var entry = (item, scores[item]);
                if (!(entry.Item2 > 0))
                {
                    continue;
                }

                if (kept.Count < count)
                {
                    kept.Enqueue(item, entry);
                }
                else if (kept.TryPeek(out _, out var worst) && WorstFirst.Instance.Compare(entry, worst) > 0)
                {
                    kept.DequeueEnqueue(item, entry);
                }
            }

            var top = new (int Item, float Score, int Strongest)[kept.Count];
            for (var i = top.Length - 1; kept.TryDequeue(out var item, out _); i--)
            {
                top[i] = (item, scores[item], strongest[item]);
            }

            var best = top.Length == 0 ? 1 : top[0].Score;
            for (var i = 0; i < top.Length; i++)
            {
                top[i].Score /= best;
            }

            foreach (var item in touched)
            {
                (scores[item], strongestWeight[item], strongest[item]) = (0, 0, 0);
            }

            touched.Clear();
            return top;
        }
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
