using Discounts.Core.Domain;
using Discounts.Core.Profiling;
using Discounts.Core.Ranking;

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
public sealed class CatalogueIndex
{
    /// <summary>How much each kind of interaction counts towards popularity: a purchase says the most.</summary>
    private static readonly Dictionary<EventKind, float> InterestWeights = new()
    {
        [EventKind.View] = 0.1f, [EventKind.Click] = 0.3f, [EventKind.Cart] = 0.5f, [EventKind.Purchase] = 1f,
    };

    private readonly Dictionary<long, int> rowOf;
    private readonly Dictionary<string, (int Item, float Weight)[]> postings;

    private CatalogueIndex(
        CatalogueRow[] items, Dictionary<long, int> rowOf, int[] categoryOf, string[] categories, bool[] consumable, ItemGraph graph,
        float[] popularity, float[] trending, float[] newness, Dictionary<string, (int Item, float Weight)[]> postings, int listLength, DateTime asOf)
    {
        Items = items;
        this.rowOf = rowOf;
        CategoryOf = categoryOf;
        Categories = categories;
        ConsumableCategory = consumable;
        Graph = graph;
        Popularity = popularity;
        Trending = trending;
        Newness = newness;
        this.postings = postings;
        AsOf = asOf;
        PopularList = TopRows(popularity, listLength);
        TrendingList = TopRows(trending, listLength);
        NewList = TopRows(newness, listLength);
    }

    public IReadOnlyList<CatalogueRow> Items { get; }

    public int Count => Items.Count;

    public int[] CategoryOf { get; }

    public string[] Categories { get; }

    /// <summary>Per category index: whether items already bought in it may be recommended again.</summary>
    public bool[] ConsumableCategory { get; }

    public ItemGraph Graph { get; }

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

    public int TermCount => postings.Count;

    public int? RowOf(long itemId) => rowOf.TryGetValue(itemId, out var row) ? row : null;

    public ReadOnlySpan<(int Item, float Weight)> Postings(string term) =>
        postings.TryGetValue(term, out var list) ? list : ReadOnlySpan<(int, float)>.Empty;

    /// <param name="events">Every interaction to learn from; those after <paramref name="asOf"/> are ignored.</param>
    public static CatalogueIndex Build(IReadOnlyList<CatalogueRow> catalogue, IEnumerable<ActivityRow> events, DateTime asOf, RecommendationOptions options)
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
        var consumableNames = options.ConsumableCategories.ToHashSet(StringComparer.OrdinalIgnoreCase);
        var consumable = categories.Select(consumableNames.Contains).ToArray();

        var popularity = new float[items.Length];
        var trending = new float[items.Length];
        var trendingFrom = asOf.AddDays(-options.TrendingDays);
        var sequences = new Dictionary<long, List<(DateTime At, int Item)>>();
        foreach (var e in events)
        {
            if (e.OccurredAt > asOf || !InterestWeights.TryGetValue(e.Kind, out var weight) || !rowOf.TryGetValue(e.ItemId, out var row))
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
        var graph = ItemGraph.CoOccurrence(sequences.Values.Select(Ordered), items.Length, new CoOccurrenceOptions());

        var newness = new float[items.Length];
        for (var i = 0; i < items.Length; i++)
        {
            var age = (asOf - items[i].CreatedAt).TotalDays;
            if (age >= 0 && age < options.NewItemDays)
            {
                newness[i] = (float)(1 - age / options.NewItemDays);
            }
        }

        return new CatalogueIndex(items, rowOf, categoryOf, categories, consumable, graph, popularity, trending, newness,
            TextPostings(items), options.CandidatesPerSource, asOf);
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
