using Discounts.Core.Domain;
using Discounts.Core.Profiling;

namespace Discounts.Core.Recommending;

/// <summary>One catalogue item as the index needs it.</summary>
public sealed record CatalogueRow(long Id, string ExternalId, string Title, string Description, string Category, string Brand, DateTime CreatedAt);

/// <summary>One interaction as the index needs it.</summary>
public sealed record ActivityRow(long UserId, long ItemId, EventKind Kind, DateTime OccurredAt);

/// <summary>
/// Everything about the catalogue and the shop's history that recommendations read, precomputed once and then shared
/// read-only by every request: item rows, the co-occurrence graph, the popular, trending and new lists, and an
/// inverted TF-IDF index of item texts. It is rebuilt whole in the background and swapped by reference.
/// </summary>
/// <summary>Which item graph an item-graph source walks.</summary>
public enum ItemGraphKind
{
    Sequential,
    WholeHistory,
    TwoStep,
    Text,
}

public sealed class CatalogueIndex
{
    /// <summary>How much each kind of interaction counts towards popularity: a purchase says the most.</summary>
    private static readonly Dictionary<EventKind, float> InterestWeights = new()
    {
        [EventKind.View] = 0.1f, [EventKind.Click] = 0.3f, [EventKind.Cart] = 0.5f, [EventKind.Purchase] = 1f,
    };

    /// <summary>Co-occurrence over whole histories: pairs up to this far apart count, each alike.</summary>
    private static readonly CoOccurrenceOptions WholeHistory = new(Window: 50, WeightByDistance: false, ReverseWeight: 1f, PopularityExponent: 0.5f);

    private const int TwoStepNeighbours = 100;

    private CatalogueIndex(
        CatalogueItems catalogue, bool[] consumable, ItemGraph graph, ItemGraph wholeHistoryGraph, float[] popularity, float[] trending, float[] newness,
        int listLength, DateTime asOf)
    {
        Catalogue = catalogue;
        ConsumableCategory = consumable;
        Graph = graph;
        WholeHistoryGraph = wholeHistoryGraph;
        TwoStepGraph = graph.TwoStep(TwoStepNeighbours);
        Popularity = popularity;
        Trending = trending;
        Newness = newness;
        AsOf = asOf;
        PopularList = TopRows(popularity, listLength);
        TrendingList = TopRows(trending, listLength);
        NewList = TopRows(newness, listLength);
    }

    /// <summary>The part built from the items alone; shared by every index over the same items.</summary>
    public CatalogueItems Catalogue { get; }

    public IReadOnlyList<CatalogueRow> Items => Catalogue.Rows;

    public int Count => Catalogue.Rows.Length;

    public int[] CategoryOf => Catalogue.CategoryOf;

    public string[] Categories => Catalogue.Categories;

    /// <summary>Per category index: whether items already bought in it may be recommended again.</summary>
    public bool[] ConsumableCategory { get; }

    /// <summary>Sequential co-occurrence: items a few positions apart in users' histories.</summary>
    public ItemGraph Graph { get; }

    /// <summary>Co-occurrence anywhere in the same history.</summary>
    public ItemGraph WholeHistoryGraph { get; }

    /// <summary>Two steps along <see cref="Graph"/>: items next to the history's neighbours.</summary>
    public ItemGraph TwoStepGraph { get; }

    public ItemGraph GraphOf(ItemGraphKind kind) => kind switch
    {
        ItemGraphKind.Sequential => Graph,
        ItemGraphKind.WholeHistory => WholeHistoryGraph,
        ItemGraphKind.TwoStep => TwoStepGraph,
        ItemGraphKind.Text => Catalogue.TextGraph,
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>Per item, all-time weighted interactions scaled so the most popular item is 1.</summary>
    public float[] Popularity { get; }

    /// <summary>Per item, the same over the trending window only.</summary>
    public float[] Trending { get; }

    /// <summary>Per item, 1 for one created at <see cref="AsOf"/>, falling linearly to 0 at the new-item horizon.</summary>
    public float[] Newness { get; }

    public IReadOnlyList<int> PopularList { get; }

    public IReadOnlyList<int> TrendingList { get; }

    public IReadOnlyList<int> NewList { get; }

    /// <summary>The time the index describes: "now" for serving, the validation cut-off when fitting the blend.</summary>
    public DateTime AsOf { get; }

    public int TermCount => Catalogue.TermCount;

    public int? RowOf(long itemId) => Catalogue.RowOf(itemId);

    public ReadOnlySpan<(int Item, float Weight)> Postings(string term) => Catalogue.Postings(term);

    /// <param name="events">Every interaction to learn from; those after <paramref name="asOf"/> are ignored.</param>
    /// <param name="previous">The items part of the index this one replaces: reused when the items are unchanged.</param>
    public static CatalogueIndex Build(
        IReadOnlyList<CatalogueRow> catalogue, IEnumerable<ActivityRow> events, DateTime asOf, RecommendationOptions options, CatalogueItems? previous = null)
    {
        var built = previous is not null && previous.Describes(catalogue) ? previous : CatalogueItems.Build(catalogue);
        var items = built.Rows;
        var consumableNames = options.ConsumableCategories.ToHashSet(StringComparer.OrdinalIgnoreCase);
        var consumable = built.Categories.Select(consumableNames.Contains).ToArray();

        var popularity = new float[items.Length];
        var trending = new float[items.Length];
        var trendingFrom = asOf.AddDays(-options.TrendingDays);
        var sequences = new Dictionary<long, List<(DateTime At, int Item)>>();
        foreach (var e in events)
        {
            if (e.OccurredAt > asOf || !InterestWeights.TryGetValue(e.Kind, out var weight) || built.RowOf(e.ItemId) is not { } row)
            {
                continue;
            }

            popularity[row] += weight;
            if (e.OccurredAt >= trendingFrom)
            {
                trending[row] += weight;
            }

            if (!sequences.TryGetValue(e.UserId, out var sequence))
            {
                sequences[e.UserId] = sequence = [];
            }

            sequence.Add((e.OccurredAt, row));
        }

        ScaleToOne(popularity);
        ScaleToOne(trending);
        var ordered = sequences.Values.Select(Ordered).ToList();
        var graph = ItemGraph.CoOccurrence(ordered, items.Length, new CoOccurrenceOptions());
        var wholeHistoryGraph = ItemGraph.CoOccurrence(ordered, items.Length, WholeHistory);

        var newness = new float[items.Length];
        for (var i = 0; i < items.Length; i++)
        {
            var age = (asOf - items[i].CreatedAt).TotalDays;
            if (age >= 0 && age < options.NewItemDays)
            {
                newness[i] = (float)(1 - age / options.NewItemDays);
            }
        }

        return new CatalogueIndex(built, consumable, graph, wholeHistoryGraph, popularity, trending, newness, options.CandidatesPerSource, asOf);
    }

    /// <summary>A user's items oldest first, with immediate repeats (a view then a purchase of the same item) merged.</summary>
    private static int[] Ordered(List<(DateTime At, int Item)> sequence)
    {
        sequence.Sort((a, b) => a.At.CompareTo(b.At));
        var ordered = new List<int>(sequence.Count);
        foreach (var (_, item) in sequence)
        {
            if (ordered.Count == 0 || ordered[^1] != item)
            {
                ordered.Add(item);
            }
        }

        return [.. ordered];
    }

    private static void ScaleToOne(float[] values)
    {
        var max = values.Length == 0 ? 0 : values.Max();
        if (max <= 0)
        {
            return;
        }

        for (var i = 0; i < values.Length; i++)
        {
            values[i] /= max;
        }
    }

    private static int[] TopRows(float[] scores, int count) =>
        Enumerable.Range(0, scores.Length).Where(i => scores[i] > 0)
            .OrderByDescending(i => scores[i]).ThenBy(i => i).Take(count).ToArray();
}

/// <summary>
/// The part of the index built from the items alone: rows, categories and an inverted TF-IDF index of item texts. An
/// index rebuilt because interactions changed reuses it, and so do what is keyed on it (the scorer's item matrix and
/// users' profile candidates): new events elsewhere in the shop do not make every user's profile candidates stale.
/// </summary>
public sealed class CatalogueItems
{
    private readonly Dictionary<long, int> rowOf;
    private readonly Dictionary<string, (int Item, float Weight)[]> postings;

    private CatalogueItems(
        CatalogueRow[] rows, Dictionary<long, int> rowOf, string[] categories, int[] categoryOf, Dictionary<string, (int Item, float Weight)[]> postings,
        ItemGraph textGraph)
    {
        Rows = rows;
        TextGraph = textGraph;
        this.rowOf = rowOf;
        Categories = categories;
        CategoryOf = categoryOf;
        this.postings = postings;
        Reasons = new RecommendationReasons(this);
    }

    public CatalogueRow[] Rows { get; }

    public string[] Categories { get; }

    public int[] CategoryOf { get; }

    /// <summary>The reason sentences, shared by every list ranked over these items.</summary>
    public RecommendationReasons Reasons { get; }

    public int TermCount => postings.Count;

    /// <summary>Item-to-item similarity of titles, categories and brands: links items no one has bought together yet.</summary>
    public ItemGraph TextGraph { get; }

    public int? RowOf(long itemId) => rowOf.TryGetValue(itemId, out var row) ? row : null;

    public ReadOnlySpan<(int Item, float Weight)> Postings(string term) =>
        postings.TryGetValue(term, out var list) ? list : ReadOnlySpan<(int, float)>.Empty;

    /// <summary>Whether these are exactly the rows it was built from (every field, in order).</summary>
    public bool Describes(IReadOnlyList<CatalogueRow> rows)
    {
        if (rows.Count != Rows.Length)
        {
            return false;
        }

        for (var i = 0; i < Rows.Length; i++)
        {
            if (!Rows[i].Equals(rows[i]))
            {
                return false;
            }
        }

        return true;
    }

    public static CatalogueItems Build(IReadOnlyList<CatalogueRow> catalogue)
    {
        var items = catalogue.ToArray();
        var rowOf = new Dictionary<long, int>(items.Length);
        for (var i = 0; i < items.Length; i++)
        {
            rowOf[items[i].Id] = i;
        }

        var categories = items.Select(i => i.Category).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        var categoryIds = categories.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i, StringComparer.Ordinal);
        var categoryOf = items.Select(i => categoryIds[i.Category]).ToArray();
        var textGraph = TextSimilarity.Graph(items.Select(i => $"{i.Title} {i.Category} {i.Brand}").ToList());
        return new CatalogueItems(items, rowOf, categories, categoryOf, TextPostings(items), textGraph);
    }

    /// <summary>TF-IDF of each item's title, category, brand and description (the profile tokenizer, so terms match), L2-normalised.</summary>
    private static Dictionary<string, (int Item, float Weight)[]> TextPostings(CatalogueRow[] items)
    {
        var documents = items.Select(i =>
            Tokenizer.Tokenize($"{i.Title} {i.Title} {i.Category} {i.Brand} {i.Description}")
                .GroupBy(t => t, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal)).ToArray();
        var documentFrequency = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var document in documents)
        {
            foreach (var term in document.Keys)
            {
                documentFrequency[term] = documentFrequency.GetValueOrDefault(term) + 1;
            }
        }

        var lists = new Dictionary<string, List<(int, float)>>(StringComparer.Ordinal);
        for (var item = 0; item < documents.Length; item++)
        {
            var weights = documents[item].Select(t => (Term: t.Key, Weight: (float)((1 + Math.Log(t.Value)) * Math.Log(1 + (double)items.Length / documentFrequency[t.Key])))).ToList();
            var norm = MathF.Sqrt(weights.Sum(w => w.Weight * w.Weight));
            foreach (var (term, weight) in weights)
            {
                if (!lists.TryGetValue(term, out var list))
                {
                    lists[term] = list = [];
                }

                list.Add((item, weight / norm));
            }
        }

        return lists.ToDictionary(l => l.Key, l => l.Value.ToArray(), StringComparer.Ordinal);
    }
}
