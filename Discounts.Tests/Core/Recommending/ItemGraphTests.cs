using Discounts.Core.Evaluation;
using Discounts.Core.Recommending;

namespace Discounts.Tests.Core.Recommending;

public sealed class ItemGraphTests
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
    public void ItemGraphSource_WhenHistoryIsLonger_UsesOnlyTheLastDistinctItemsWithDecay()
    {
        // Adjacent pairs 0→3, 1→4, 2→5 (and back, a half), learned as a shop's view sequences.
        var data = new SequenceDataset("toy", 6, []);
        var index = SequenceReplay.Index(data, [[0, 3], [1, 4], [2, 5]], new RecommendationOptions());
        var lastThree = CandidateSource.All.Single(s => s.Feature == RecommendationFeatures.CoOccurrenceIndex);
        var candidates = CandidateSet.For(index.Count);

        // Item 2 twice: repeats count once, so the last three distinct items are 2, 1 and 0.
        lastThree.Propose(index, new UserContext([0, 1, 2, 2], new HashSet<int>(), ProfileCandidates.None), perSource: 10, candidates);
        var scores = candidates.TakeInItemOrder(_ => true).ToDictionary(c => c.Item, c => (c.Features[RecommendationFeatures.CoOccurrenceIndex], c.Anchor));

        Assert.Multiple(() =>
        {
            Assert.That(scores.Keys, Is.EquivalentTo(new[] { 3, 4, 5 }));
            Assert.That(scores[5], Is.EqualTo((1f, 2)), "the latest item's neighbour is the source's best");
            Assert.That(scores[4].Item1, Is.EqualTo(0.5f).Within(1e-6), "one step back weighs half");
            Assert.That(scores[3].Item1, Is.EqualTo(0.25f).Within(1e-6));
            Assert.That(scores[3].Anchor, Is.EqualTo(0));
        });
    }

    [Test]
    public void SequenceReplay_WhenRanking_NeverRanksHistoryItemsAndMissesWhatNoSourceProposes()
    {
        // Everyone walks 0 → 1 → 2 → 3; item 4 was never seen.
        var data = new SequenceDataset("toy", 5, []);
        var index = SequenceReplay.Index(data, [[0, 1, 2, 3], [0, 1, 2, 3], [1, 2, 3]], new RecommendationOptions());
        var coOccurrence = new BlendModel("alone", "none", BlendRanking.Alone(RecommendationFeatures.CoOccurrenceIndex), 0);

        var ranks = SequenceReplay.Ranks(index, [coOccurrence], [([0, 1], 2), ([0, 1], 1), ([0, 1], 4)], perSource: 10);
        var candidates = SequenceReplay.Candidates(index, [0, 1], perSource: 10);

        Assert.Multiple(() =>
        {
            Assert.That(ranks[0], Is.EqualTo(new[] { 0, index.Count, index.Count }));
            Assert.That(candidates.Select(c => c.Item), Has.None.EqualTo(0).And.None.EqualTo(1));
        });
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
