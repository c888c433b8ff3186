using Discounts.Core.Data;
using Discounts.Core.Evaluation;
using Discounts.Core.Recommending;

namespace Discounts.Tests.Core.Recommending;

public sealed class SequenceReplayTests
{
    private static string BeautyFile => Path.GetFullPath(Path.Combine(RepositoryRoot.Find(), "..", "shared", "data", "amazon-beauty-s3rec", "Beauty.txt.gz"));

    [Test]
    [Category("Slow")]
    public void Replay_WhenBlendFittedOnBeautySubset_BeatsPopularityAndCoOccurrenceAlone()
    {
        if (!File.Exists(BeautyFile))
        {
            Assert.Ignore($"The Beauty file is not at {BeautyFile}.");
        }

        var data = SequenceDatasets.LoadS3Rec(BeautyFile);
        var options = new RecommendationOptions();
        var order = LeaveOneOutEvaluation.DeterministicUserOrder(data.Users.Count);
        var fitUsers = order.Take(1_500).Select(u => (data.Users[u].ValidHistory, data.Users[u].ValidTarget)).ToList();
        var testUsers = order.Skip(1_500).Take(4_000).Select(u => (data.Users[u].TestHistory, data.Users[u].TestTarget)).ToList();

        var groups = SequenceReplay.Groups(SequenceReplay.Index(data, data.Users.Select(u => u.Train).ToArray(), options), fitUsers, options.CandidatesPerSource);
        var (blend, _) = LogisticBlendFitter.Fit("test", "none", groups);
        var testIndex = SequenceReplay.Index(data, data.Users.Select(u => u.TestHistory).ToArray(), options);
        BlendModel Alone(int feature) => new("alone", "none", BlendRanking.Alone(feature), 0);
        var ranks = SequenceReplay.Ranks(
            testIndex, [blend, Alone(RecommendationFeatures.PopularIndex), Alone(RecommendationFeatures.CoOccurrenceIndex)], testUsers, options.CandidatesPerSource);
        var ndcg = ranks.Select(r =>
        {
            var metrics = new RankingMetricsAccumulator([10]);
            foreach (var rank in r)
            {
                metrics.Add(rank);
            }

            return metrics.Result().Ndcg[10];
        }).ToArray();
        TestContext.Out.WriteLine($"NDCG@10 on 4,000 Beauty users: blend {ndcg[0]:F4}, popularity {ndcg[1]:F4}, co-occurrence {ndcg[2]:F4}");

        // On all users popularity reaches 0.0061 and the co-occurrence baseline 0.054 (data README); the blend must beat both clearly.
        Assert.Multiple(() =>
        {
            Assert.That(data.Users, Has.Count.EqualTo(22_363));
            Assert.That(ndcg[1], Is.LessThan(0.015));
            Assert.That(ndcg[0], Is.GreaterThan(5 * ndcg[1]));
            Assert.That(ndcg[0], Is.GreaterThan(ndcg[2] * 1.03));
        });
    }
}
