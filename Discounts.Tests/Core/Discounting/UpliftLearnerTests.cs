using Discounts.Core.Discounting;

namespace Discounts.Tests.Core.Discounting;

public sealed class UpliftLearnerTests
{
    private static readonly double[] Doses = [0, 5, 10, 15, 20];

    /// <summary>
    /// A planted world: feature 0 is the user's price sensitivity s, feature 1 moves only the baseline. A discount of d
    /// percent multiplies the chance of buying by 1 + 0.08 × s × d, so sensitive users' lift is large and others' nil.
    /// </summary>
    private static List<UpliftRow> PlantedRows(int count, int seed)
    {
        var random = new Random(seed);
        var rows = new List<UpliftRow>(count);
        for (var i = 0; i < count; i++)
        {
            var sensitivity = random.NextDouble();
            var appetite = random.NextDouble();
            var arm = random.Next(Doses.Length);
            var p = (0.05 + 0.2 * appetite) * (1 + 0.08 * sensitivity * Doses[arm]);
            rows.Add(new UpliftRow([(float)sensitivity, (float)appetite], arm, random.NextDouble() < p));
        }

        return rows;
    }

    [Test]
    public void Fit_WhenLiftIsMultiplicative_RelativeLearnerRecoversWhoRespondsAndByHowMuch()
    {
        // The relative candidate with stumps, on its own (the product's Selected learner may choose another).
        var options = UpliftLearnerOptions.Candidates[0];
        var learner = UpliftLearner.Fit(PlantedRows(40_000, seed: 3), Doses.Length, options, seed: 3, Doses);

        var probe = new List<float[]> { new[] { 0.1f, 0.5f }, new[] { 0.9f, 0.5f }, new[] { 0.9f, 0.1f } };
        var predicted = learner.Predict(probe);
        double RelativeLiftAt20(int row) => predicted[row][4] / predicted[row][0] - 1;

        Assert.Multiple(() =>
        {
            // True relative lift at 20 %: 1.6 × s, so 0.16 for s = 0.1 and 1.44 for s = 0.9.
            Assert.That(RelativeLiftAt20(0), Is.LessThan(0.5), "an insensitive user gains little");
            Assert.That(RelativeLiftAt20(1), Is.InRange(1.0, 1.9), "a sensitive user's lift is found at about its size");
            Assert.That(RelativeLiftAt20(2), Is.EqualTo(RelativeLiftAt20(1)).Within(0.25), "the lift does not depend on the baseline feature");
            Assert.That(predicted[1][0], Is.GreaterThan(predicted[2][0]), "the baseline follows appetite");
            foreach (var row in predicted)
            {
                Assert.That(row, Is.Ordered, "a deeper discount never lowers the chance of buying");
            }
        });
    }

    [TestCase(UpliftLearnerKind.TLearner)]
    [TestCase(UpliftLearnerKind.XLearner)]
    [TestCase(UpliftLearnerKind.Relative)]
    public void Predict_WhenAFewRowsOrManyAreAsked_GivesTheSameNumbers(UpliftLearnerKind kind)
    {
        // A quote's few rows go through kept prediction engines, a simulation's thousands through the bulk pipeline.
        var learner = UpliftLearner.Fit(PlantedRows(4_000, seed: 7), Doses.Length, new UpliftLearnerOptions { Kind = kind, Iterations = 20 }, seed: 7, Doses);
        var many = PlantedRows(200, seed: 8).Select(r => r.Features).ToList();

        var inBulk = learner.Predict(many);
        var fewAtATime = many.Chunk(3).SelectMany(chunk => learner.Predict(chunk)).ToList();

        Assert.That(fewAtATime, Is.EqualTo(inBulk).Within(1e-6));
    }

    [Test]
    public void Fit_WhenDosesDoNotStartAtZero_Refuses()
    {
        var error = Assert.Throws<ArgumentException>(() =>
            UpliftLearner.Fit(PlantedRows(1_000, seed: 1), Doses.Length, new DiscountingOptions().Learner, seed: 1, [5, 10, 15, 20, 25]));
        Assert.That(error!.ParamName, Is.EqualTo("doses"));
    }

    [Test]
    public void Fit_WhenSelected_ChoosesTheCandidateWithTheBestOutOfFoldQini()
    {
        var rows = PlantedRows(12_000, seed: 5);
        var learner = UpliftLearner.Fit(rows, Doses.Length, new UpliftLearnerOptions { Kind = UpliftLearnerKind.Selected }, seed: 5, Doses);

        Assert.Multiple(() =>
        {
            Assert.That(learner.CandidateScores, Has.Count.EqualTo(UpliftLearnerOptions.Candidates.Count));
            Assert.That(learner.Chosen, Is.EqualTo(UpliftLearnerOptions.Candidates[learner.CandidateScores.ToList().IndexOf(learner.CandidateScores.Max())]));
            // The planted lift is strong: whichever candidate wins ranks held-out rows far better than random (Qini 0).
            Assert.That(learner.CandidateScores.Max(), Is.GreaterThan(0.05));
            Assert.That(learner.Predict([[0.9f, 0.5f]])[0][4], Is.GreaterThan(learner.Predict([[0.1f, 0.5f]])[0][4]), "a sensitive user gains more");
        });
    }

    [Test]
    public void StratifiedFolds_WhenDealt_EachFoldHoldsItsShareOfEveryArmAndOutcome()
    {
        var rows = PlantedRows(3_000, seed: 2);
        var fold = UpliftLearner.StratifiedFolds(rows, folds: 3, seed: 2);

        foreach (var stratum in rows.Select((r, i) => (r.Arm, r.Outcome, Fold: fold[i])).GroupBy(r => (r.Arm, r.Outcome)))
        {
            var counts = Enumerable.Range(0, 3).Select(k => stratum.Count(r => r.Fold == k)).ToArray();
            Assert.That(counts.Max() - counts.Min(), Is.LessThanOrEqualTo(1), $"stratum {stratum.Key}");
        }
    }

    [Test]
    public void Shrunk_WhenLambdaIsZero_EveryRowGetsThePopulationLift()
    {
        int[] ladder = [0, 5, 10, 15, 20];
        double[][] pooled = [[0.1, 0.11, 0.12, 0.13, 0.14], [0.2, 0.2, 0.2, 0.2, 0.2]];

        var flat = UpliftModel.Shrunk(pooled, ladder, new LiftShrinkage(0, 0.01));
        var half = UpliftModel.Shrunk(pooled, ladder, new LiftShrinkage(0.5, 0.01));

        Assert.Multiple(() =>
        {
            Assert.That(flat[0][4], Is.EqualTo(0.1 * 1.2).Within(1e-9), "p(0) kept, relative lift 1 % per percent");
            Assert.That(flat[1][4], Is.EqualTo(0.2 * 1.2).Within(1e-9));
            // Row 0's own lift is (0.14 − 0.1) / (0.1 × 20) = 2 % per percent; halfway to 1 % is 1.5 %.
            Assert.That(half[0][4], Is.EqualTo(0.1 * (1 + 0.015 * 20)).Within(1e-9));
            Assert.That(UpliftModel.Shrunk(pooled, ladder, new LiftShrinkage(1, 0.01)), Is.SameAs(pooled));
        });
    }

    [Test]
    public void PolicyValue_WhenNoRowShowsLift_IsTheDoublyRobustValueOfNeverDiscounting()
    {
        var options = new DiscountingOptions { Ladder = [0, 10], MaxPercent = 10 };
        List<UpliftTraining.PricedRow> rows =
        [
            new(new UpliftRow([0f], 0, true), 1_000, 500),
            new(new UpliftRow([0f], 1, false), 1_000, 500),
        ];
        double[][] pooled = [[0.5, 0.5], [0.5, 0.5]];

        // The policy never discounts. Row 0 drew level 0 (share 1/2): 0.5 × 500 + (1 − 0.5) × 500 / 0.5 = 750.
        // Row 1 drew 10 %, which the policy would not give: the outcome model alone, 0.5 × 500 = 250. Mean 500.
        Assert.That(UpliftModelTrainer.PolicyValue(rows, pooled, options, lambda: 1), Is.EqualTo(500).Within(1e-9));
    }
}
