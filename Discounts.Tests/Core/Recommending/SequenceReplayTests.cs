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

    [Test]
    public void Candidates_WhenAScorerIsReplayed_ItsNearestItemsJoinWithTheirScoreAsAPercentile()
    {
        // Six items on a chain 0 → 1 → 2 …; the scorer's vectors are one-hot, and the user's vector points at item 5,
        // which no item graph proposes after the history [0, 1].
        var data = new SequenceDataset("replay", 6, [new LeaveOneOutUser([0, 1, 2], [0, 1], 2, [0, 1, 2], 3)]);
        var index = SequenceReplay.Index(data, [[0, 1, 2, 3], [1, 2, 3, 4]], new RecommendationOptions());
        var vectors = new float[6 * 6];
        for (var item = 0; item < 6; item++)
        {
            vectors[item * 6 + item] = 1;
        }

        vectors[2 * 6 + 5] = 0.5f;
        var matrix = new ItemMatrix(new Discounts.Core.Scoring.ScorerVersion(null, "test", ""), vectors, Enumerable.Repeat(true, 6).ToArray(), 6);
        float[] user = [0, 0, 0, 0, 0, 1];

        var without = SequenceReplay.Candidates(index, [0, 1], perSource: 10);
        var with = SequenceReplay.Candidates(index, [0, 1], perSource: 10, matrix, user);
        var withScale = SequenceReplay.Candidates(index, [0, 1], perSource: 10, matrix with { SimilarityScale = 4 }, user);

        var five = with.Single(c => c.Item == 5);
        var two = with.Single(c => c.Item == 2);
        Assert.Multiple(() =>
        {
            Assert.That(without.Select(c => c.Item), Does.Not.Contain(5));
            Assert.That(with.Select(c => c.Item), Does.Not.Contain(0).And.Not.Contain(1), "history excluded");
            Assert.That(five.Features[RecommendationFeatures.EmbeddingIndex], Is.EqualTo(1f));
            Assert.That(two.Features[RecommendationFeatures.EmbeddingIndex], Is.EqualTo(0.5f), "cosine relative to the best");
            Assert.That(withScale.Single(c => c.Item == 2).Features[RecommendationFeatures.EmbeddingIndex], Is.EqualTo(MathF.Exp(4 * (0.5f - 1))).Within(1e-6f),
                "softmax share relative to the best");
            Assert.That(five.Features[RecommendationFeatures.ScorerIndex], Is.EqualTo(1f), "the best similarity is the top percentile");
            Assert.That(two.Features[RecommendationFeatures.ScorerIndex], Is.GreaterThan(0f).And.LessThan(1f));
            Assert.That(with.Where(c => c.Item is not (2 or 5)).Select(c => c.Features[RecommendationFeatures.ScorerIndex]), Is.All.LessThan(two.Features[RecommendationFeatures.ScorerIndex]));
        });
    }
}
