using Discounts.Core.Evaluation;

namespace Discounts.Tests.Core.Evaluation;

public sealed class LeaveOneOutEvaluationTests
{
    [Test]
    public void Rank_WhenHigherItemsAreMasked_CountsOnlyUnmaskedHigherItems()
    {
        float[] scores = [0.9f, 0.8f, 0.5f, 0.7f, 0.1f];
        bool[] masked = [true, false, false, false, false];

        // Item 0 is masked; items 1 (0.8) and 3 (0.7) outrank item 2 (0.5).
        Assert.That(LeaveOneOutEvaluation.Rank(scores, target: 2, masked), Is.EqualTo(2));
    }

    [Test]
    public void Rank_WhenScoresTie_PutsLowerIndicesFirstWhateverTheTarget()
    {
        float[] scores = [0.5f, 0.5f, 0.5f, 0.5f];
        bool[] masked = new bool[4];

        Assert.Multiple(() =>
        {
            Assert.That(LeaveOneOutEvaluation.Rank(scores, target: 0, masked), Is.EqualTo(0));
            Assert.That(LeaveOneOutEvaluation.Rank(scores, target: 3, masked), Is.EqualTo(3));
        });
    }

    [Test]
    public void Rank_WhenTargetIsAnEarlierItem_RanksItLast()
    {
        float[] scores = [0.9f, 0.1f, 0.2f];
        bool[] masked = [true, false, false];

        Assert.That(LeaveOneOutEvaluation.Rank(scores, target: 0, masked), Is.EqualTo(3));
    }

    [Test]
    public void Accumulator_WhenRanksAreKnown_GivesHandComputedHitRateAndNdcg()
    {
        var metrics = new RankingMetricsAccumulator([1, 5, 10]);
        foreach (var rank in new[] { 0, 2, 7, 20 })
        {
            metrics.Add(rank);
        }

        var result = metrics.Result();

        // Ranks 0, 2, 7, 20 (0-based): gains 1/log2(2) = 1, 1/log2(4) = 0.5, 1/log2(9) = 0.315465, none.
        Assert.Multiple(() =>
        {
            Assert.That(result.Users, Is.EqualTo(4));
            Assert.That(result.HitRate[1], Is.EqualTo(0.25).Within(1e-12));
            Assert.That(result.HitRate[5], Is.EqualTo(0.5).Within(1e-12));
            Assert.That(result.HitRate[10], Is.EqualTo(0.75).Within(1e-12));
            Assert.That(result.Ndcg[1], Is.EqualTo(0.25).Within(1e-12));
            Assert.That(result.Ndcg[5], Is.EqualTo(1.5 / 4).Within(1e-12));
            Assert.That(result.Ndcg[10], Is.EqualTo((1.5 + (1 / Math.Log2(9))) / 4).Within(1e-12));
        });
    }

    [Test]
    public void DeterministicUserOrder_WhenCalledTwice_GivesTheSamePermutation()
    {
        var first = LeaveOneOutEvaluation.DeterministicUserOrder(100);

        Assert.Multiple(() =>
        {
            Assert.That(LeaveOneOutEvaluation.DeterministicUserOrder(100), Is.EqualTo(first));
            Assert.That(first.Order(), Is.EqualTo(Enumerable.Range(0, 100)));
            Assert.That(first, Is.Not.EqualTo(Enumerable.Range(0, 100)));
        });
    }
}
