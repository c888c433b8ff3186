using Discounts.Core.Domain;
using Discounts.Core.Recommending;

namespace Discounts.Tests.Core.Recommending;

public sealed class ScoreAccumulatorTests
{
    /// <summary>Sums per item, keeps the strongest contribution's origin, and sorts best first with ties by item: the plain way.</summary>
    private static List<(int Item, float Score, int Strongest)> Reference(IEnumerable<(int Item, float Contribution, int Origin)> adds, int count)
    {
        var sums = new Dictionary<int, (float Score, float Strongest, int Origin)>();
        foreach (var (item, contribution, origin) in adds)
        {
            var (score, strongest, known) = sums.GetValueOrDefault(item, (0f, 0f, -1));
            sums[item] = contribution > strongest ? (score + contribution, contribution, origin) : (score + contribution, strongest, known);
        }

        var top = sums.Where(s => s.Value.Score > 0).OrderByDescending(s => s.Value.Score).ThenBy(s => s.Key).Take(count)
            .Select(s => (s.Key, s.Value.Score, s.Value.Origin)).ToList();
        return top.Select(t => (t.Key, t.Score / top[0].Score, t.Origin)).ToList();
    }

    [TestCase(1, 60)]
    [TestCase(2, 5)]
    [TestCase(3, 5000)]
    public void TakeTop_WhenManyItemsAreAddedWithTies_MatchesSortingEverything(int seed, int count)
    {
        var random = new Random(seed);
        // Scores on a coarse grid, so many items tie and the tie-break decides who makes the cut.
        var adds = Enumerable.Range(0, 20_000)
            .Select(_ => (Item: random.Next(3_000), Contribution: random.Next(-1, 8) / 4f, Origin: random.Next(50)))
            .ToList();
        var accumulator = ScoreAccumulator.For(3_000);
        foreach (var (item, contribution, origin) in adds)
        {
            accumulator.Add(item, contribution, origin);
        }

        var top = accumulator.TakeTop(count);

        Assert.That(top, Is.EqualTo(Reference(adds, count)));
        Assert.That(accumulator.TakeTop(count), Is.Empty, "taking the top clears the scores for the next source");
    }

    [TestCase(ItemGraphKind.Sequential)]
    [TestCase(ItemGraphKind.WholeHistory)]
    [TestCase(ItemGraphKind.TwoStep)]
    [TestCase(ItemGraphKind.Text)]
    public void Propose_WhenTheWindowIsOneItem_GivesWhatSummingItsRowWould(ItemGraphKind kind)
    {
        var random = new Random(7);
        var items = Enumerable.Range(1, 300).Select(i => new CatalogueRow(
            i, $"sku-{i}", $"{(char)('a' + i % 7)}word {(char)('a' + i % 11)}thing", "", $"Category {i % 5}", $"Brand {i % 9}", DateTime.UtcNow.AddDays(-100))).ToList();
        var events = Enumerable.Range(0, 4_000)
            .Select(e => new ActivityRow(e / 20, random.Next(1, 301), EventKind.Click, DateTime.UtcNow.AddDays(-90).AddMinutes(e))).ToList();
        var index = CatalogueIndex.Build(items, events, DateTime.UtcNow, new RecommendationOptions());
        // A window of two over a history of one item sums the same row through the accumulator.
        var direct = new ItemGraphSource(RecommendationFeatures.CoOccurrenceLast1Index, kind, historyItems: 1, recencyDecay: 1f);
        var summed = new ItemGraphSource(RecommendationFeatures.CoOccurrenceLast1Index, kind, historyItems: 2, recencyDecay: 1f);
        var compared = 0;
        for (var row = 0; row < index.Count; row++)
        {
            var user = new UserContext([row], new HashSet<int>(), ProfileCandidates.None);
            var (fromRow, fromSum) = (Proposed(direct, index, user), Proposed(summed, index, user));
            Assert.That(fromRow, Is.EqualTo(fromSum), $"item row {row}");
            compared += fromRow.Count;
        }

        Assert.That(compared, Is.GreaterThan(index.Count), "the graph has rows to compare");
    }

    private static List<(int Item, float Score, int Anchor)> Proposed(CandidateSource source, CatalogueIndex index, UserContext user)
    {
        var set = CandidateSet.For(index.Count);
        source.Propose(index, user, 20, set);
        return set.TakeInItemOrder(_ => true)
            .Select(c => (c.Item, c.Features[source.Feature], Math.Max(c.Anchor, c.TextAnchor))).ToList();
    }
}
