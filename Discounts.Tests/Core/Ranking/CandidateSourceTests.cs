using Discounts.Core.Ranking;

namespace Discounts.Tests.Core.Ranking;

public sealed class CandidateSourceTests
{
    [Test]
    public void CoOccurrence_WhenTunedOptions_WeighsByDistanceAndReverseAndDividesByPopularity()
    {
        int[][] sequences = [[0, 1, 2], [0, 1]];
        var graph = ItemGraph.CoOccurrence(sequences, itemCount: 3, new CoOccurrenceOptions(Window: 2, WeightByDistance: true, ReverseWeight: 0.5f, PopularityExponent: 1f));

        // 0→1: two adjacent pairs = 2, over popularity(1) = 2 → 1. 0→2: one pair two apart = 0.5, over popularity(2) = 1.
        // 1→0: reverse of the two 0→1 pairs = 2 × 0.5 = 1, over popularity(0) = 2 → 0.5.
        Assert.Multiple(() =>
        {
            Assert.That(Edges(graph, 0), Is.EquivalentTo(new Dictionary<int, float> { [1] = 1f, [2] = 0.5f }));
            Assert.That(Edges(graph, 1), Is.EquivalentTo(new Dictionary<int, float> { [2] = 1f, [0] = 0.5f }));
            Assert.That(Edges(graph, 2), Is.EquivalentTo(new Dictionary<int, float> { [1] = 0.25f, [0] = 0.125f }));
        });
    }

    [Test]
    public void CoOccurrence_WhenAdjacentOptions_CountsOnlyForwardNeighbours()
    {
        var graph = ItemGraph.CoOccurrence([[0, 1, 2], [0, 1]], itemCount: 3, CoOccurrenceOptions.Adjacent);

        Assert.Multiple(() =>
        {
            Assert.That(Edges(graph, 0), Is.EquivalentTo(new Dictionary<int, float> { [1] = 2f }));
            Assert.That(Edges(graph, 1), Is.EquivalentTo(new Dictionary<int, float> { [2] = 1f }));
            Assert.That(Edges(graph, 2), Is.Empty);
        });
    }

    [Test]
    public void ItemGraphSource_WhenHistoryIsLonger_UsesOnlyRecentItemsWithDecay()
    {
        var graph = ItemGraph.CoOccurrence([[0, 3], [1, 4], [2, 5]], itemCount: 6, CoOccurrenceOptions.Adjacent);
        var source = new ItemGraphSource("test", graph, historyItems: 2, recencyDecay: 0.5f);
        var scores = new float[6];

        source.AddScores([0, 1, 2], 2f, scores);

        // Item 2 (latest) → 5 with weight 2; item 1 → 4 with 2 × 0.5; item 0 is beyond the last two.
        Assert.That(scores, Is.EqualTo(new[] { 0f, 0f, 0f, 0f, 1f, 2f }));
    }

    [Test]
    public void Candidates_WhenAsked_ExcludeHistoryAndNameTheSource()
    {
        var popularity = new PopularitySource([[0, 1, 2], [1, 2], [2]], itemCount: 4);

        var candidates = popularity.Candidates([2], count: 5);

        Assert.That(candidates, Is.EqualTo(new[]
        {
            new ScoredCandidate(1, 2f / 3, "popularity"),
            new ScoredCandidate(0, 1f / 3, "popularity"),
        }));
    }

    [Test]
    public void BlendedSource_WhenSourcesHaveDifferentScales_NormalisesEachByItsMaximum()
    {
        var forward = new ItemGraphSource("forward", ItemGraph.CoOccurrence([[0, 1], [0, 1], [0, 2]], 3, CoOccurrenceOptions.Adjacent), 1, 1f);
        var popularity = new PopularitySource([[2], [2], [2], [1]], itemCount: 3);
        var blend = new BlendedSource("blend", [forward, popularity], [1f, 0.5f]);
        var scores = new float[3];

        blend.AddScores([0], 1f, scores);

        // forward: 1 → 2 counts, 2 → 1 count, normalised 1 and 0.5; popularity normalised: 0, 1/3, 1.
        Assert.That(scores, Is.EqualTo(new[] { 0f, 1f + (0.5f / 3), 0.5f + 0.5f }).Within(1e-6));
    }

    [Test]
    public void TwoStep_WhenPathsExist_ReachesNeighboursOfNeighboursButNotSelf()
    {
        var graph = ItemGraph.CoOccurrence([[0, 1, 2], [1, 0]], itemCount: 3, CoOccurrenceOptions.Adjacent);

        var twoStep = graph.TwoStep(maxNeighbours: 10);

        // 0 → 1 (only edge), and 1 → {2, 0} (one each): two steps from 0 reach 2 but never 0 itself.
        Assert.Multiple(() =>
        {
            Assert.That(Edges(twoStep, 0).Keys, Is.EquivalentTo(new[] { 2 }));
            Assert.That(Edges(twoStep, 0)[2], Is.EqualTo(0.5f).Within(1e-6));
        });
    }

    [Test]
    public void TextSimilarity_WhenItemsShareRareWords_AreNeighboursAndOthersAreNot()
    {
        string[] texts =
        [
            "Nitrile gloves, blue, large",
            "Nitrile gloves, blue, medium",
            "Pipette tips 200ul",
            "Pipette tips 1000ul",
            "Sanding roll 80 grit",
            "Sanding roll 120 grit",
        ];

        var graph = TextSimilarity.Graph(texts, maxNeighbours: 5, maxDocumentShare: 0.5);

        Assert.Multiple(() =>
        {
            Assert.That(graph.Neighbours(0).ToArray(), Is.EqualTo(new[] { 1 }));
            Assert.That(graph.Neighbours(2).ToArray(), Is.EqualTo(new[] { 3 }));
            Assert.That(graph.Neighbours(5).ToArray(), Is.EqualTo(new[] { 4 }));
            Assert.That(graph.NeighbourWeights(0)[0], Is.GreaterThan(0.5f).And.LessThanOrEqualTo(1f));
        });
    }

    private static Dictionary<int, float> Edges(ItemGraph graph, int item)
    {
        var neighbours = graph.Neighbours(item);
        var weights = graph.NeighbourWeights(item);
        var edges = new Dictionary<int, float>();
        for (var i = 0; i < neighbours.Length; i++)
        {
            edges[neighbours[i]] = weights[i];
        }

        return edges;
    }
}
