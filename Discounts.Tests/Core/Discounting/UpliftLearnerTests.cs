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
        var options = new DiscountingOptions().Learner;
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

    [Test]
    public void Fit_WhenDosesDoNotStartAtZero_Refuses()
    {
        var error = Assert.Throws<ArgumentException>(() =>
            UpliftLearner.Fit(PlantedRows(1_000, seed: 1), Doses.Length, new DiscountingOptions().Learner, seed: 1, [5, 10, 15, 20, 25]));
        Assert.That(error!.ParamName, Is.EqualTo("doses"));
    }
}
