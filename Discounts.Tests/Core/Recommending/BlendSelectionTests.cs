using Discounts.Core.Recommending;

namespace Discounts.Tests.Core.Recommending;

public sealed class BlendSelectionTests
{
    /// <summary>
    /// Groups of 40 candidates whose features are uniform noise; a candidate is a positive with a chance that grows
    /// with <paramref name="logit"/> of its features. Sparse like real candidate lists: one or two positives a user.
    /// </summary>
    private static List<FitGroup> Groups(int seed, int users, Func<float[], double> logit)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, users).Select(_ =>
        {
            var features = new List<float[]>();
            var labels = new List<bool>();
            for (var c = 0; c < 40; c++)
            {
                var row = Enumerable.Range(0, RecommendationFeatures.Count).Select(_ => (float)random.NextDouble()).ToArray();
                features.Add(row);
                labels.Add(random.NextDouble() < 1 / (1 + Math.Exp(-logit(row))));
            }

            return new FitGroup(features, labels);
        }).ToList();
    }

    [TestCase(RecommendationFeatures.CoOccurrenceIndex)]
    [TestCase(RecommendationFeatures.ContentIndex)]
    [TestCase(RecommendationFeatures.ScorerIndex)]
    public void Select_WhenOneFeatureIsInformativeAndTheRestNoise_PutsTheWeightOnIt(int informative)
    {
        var groups = Groups(11 + informative, 300, row => 8 * row[informative] - 9);

        var selection = LogisticBlendFitter.Select(groups);

        Assert.Multiple(() =>
        {
            var weight = selection.Weights[informative];
            Assert.That(weight, Is.GreaterThan(0));
            Assert.That(selection.Weights.Where((_, f) => f != informative).Select(Math.Abs), Has.All.LessThan(weight / 3),
                $"selected {selection.Name}: {string.Join(", ", selection.Weights.Select(w => w.ToString("F2")))}");
            var bestAlone = selection.InnerHitRates.Where(p => p.Key.EndsWith(" alone")).MaxBy(p => p.Value);
            Assert.That(bestAlone.Key, Is.EqualTo($"{RecommendationFeatures.Names[informative]} alone"));
            Assert.That(selection.InnerHitRates[selection.Name], Is.GreaterThanOrEqualTo(bestAlone.Value));
        });
    }

    [Test]
    public void Select_WhenTwoFeaturesEachCarryHalfTheSignal_ChoosesABlendThatBeatsEitherAloneOnNewUsers()
    {
        static double Logit(float[] row) => 6 * row[RecommendationFeatures.ContentIndex] + 6 * row[RecommendationFeatures.CoOccurrenceIndex] - 12;
        var groups = Groups(5, 400, Logit);
        var fresh = Groups(6, 400, Logit);

        var selection = LogisticBlendFitter.Select(groups);

        Assert.Multiple(() =>
        {
            Assert.That(selection.Name, Does.Not.EndWith(" alone"));
            Assert.That(selection.Weights[RecommendationFeatures.ContentIndex], Is.GreaterThan(0));
            Assert.That(selection.Weights[RecommendationFeatures.CoOccurrenceIndex], Is.GreaterThan(0));
            var blend = BlendRanking.Measure(fresh, selection.Weights).HitRate;
            Assert.That(blend, Is.GreaterThan(BlendRanking.Measure(fresh, BlendRanking.Alone(RecommendationFeatures.ContentIndex)).HitRate));
            Assert.That(blend, Is.GreaterThan(BlendRanking.Measure(fresh, BlendRanking.Alone(RecommendationFeatures.CoOccurrenceIndex)).HitRate));
        });
    }

    [Test]
    public void Select_WhenEveryFeatureIsNoise_PicksNothingASingleFeatureBeatsOnTheInnerValidation()
    {
        var groups = Groups(9, 200, _ => -4);

        var selection = LogisticBlendFitter.Select(groups);

        // Whatever it picks, no feature alone did better on the cross-validation it was chosen by.
        Assert.That(selection.InnerHitRates.Where(p => p.Key.EndsWith(" alone")).Select(p => p.Value),
            Has.All.LessThanOrEqualTo(selection.InnerHitRates[selection.Name]));
    }

    [Test]
    public void Measure_WhenScoresTie_RanksTheEarlierCandidateFirstAsServingDoes()
    {
        // Twelve candidates all scoring 0: the top 10 are the first ten, so a positive at position 11 is a miss.
        var features = Enumerable.Range(0, 12).Select(_ => new float[RecommendationFeatures.Count]).ToList();
        var miss = new FitGroup(features, Enumerable.Range(0, 12).Select(i => i == 10).ToList());
        var hit = new FitGroup(features, Enumerable.Range(0, 12).Select(i => i == 9).ToList());

        Assert.Multiple(() =>
        {
            Assert.That(BlendRanking.Measure([miss], BlendRanking.Alone(0)).HitRate, Is.EqualTo(0));
            Assert.That(BlendRanking.Measure([hit], BlendRanking.Alone(0)).HitRate, Is.EqualTo(1));
            Assert.That(BlendRanking.Measure([hit], BlendRanking.Alone(0)).Ndcg, Is.EqualTo(1 / Math.Log2(11)).Within(1e-12));
            Assert.That(LogisticBlendFitter.HitRate([miss], f => f[0]), Is.EqualTo(0));
        });
    }

    [Test]
    public void NormaliseScorer_WhenProbabilitiesSpanANarrowBand_GivesPercentilesWithinTheList()
    {
        var candidates = WithProbabilities(0.31f, 0.30f, 0.32f, 0.31f, 0.30f);

        RecommendationFeatures.NormaliseScorer(candidates);

        // Sorted: 0.30, 0.30, 0.31, 0.31, 0.32 -> ranks 0-1, 2-3, 4 of 4; ties share their mean rank.
        Assert.That(candidates.Select(c => c.Features[RecommendationFeatures.ScorerIndex]),
            Is.EqualTo(new[] { 0.625f, 0.125f, 1f, 0.625f, 0.125f }).Within(1e-6f));
    }

    [Test]
    public void NormaliseScorer_WhenSomeItemsWereNotScored_RanksTheirZerosBelowTinyProbabilities()
    {
        var candidates = WithProbabilities(0.5f, 0f, 1e-9f, 0f, float.Epsilon);

        RecommendationFeatures.NormaliseScorer(candidates);

        // Sorted: 0, 0, epsilon, 1e-9, 0.5 -> the zeros share rank 0.5 of 4.
        Assert.That(candidates.Select(c => c.Features[RecommendationFeatures.ScorerIndex]),
            Is.EqualTo(new[] { 1f, 0.125f, 0.75f, 0.125f, 0.5f }).Within(1e-6f));
    }

    private static List<Candidate> WithProbabilities(params float[] probabilities) => probabilities.Select((p, i) =>
    {
        var candidate = new Candidate(i);
        candidate.Features[RecommendationFeatures.ScorerIndex] = p;
        return candidate;
    }).ToList();
}
