using Discounts.Core.Discounting;

namespace Discounts.Tests.Core.Discounting;

public sealed class MultiplicativeLiftTests
{
    private static readonly double[] Doses = [0, 5, 10, 15, 20];

    [Test]
    public void Train_WhenTheLiftGrowsWithAColumn_RecoversItsInterceptAndSlope()
    {
        var rows = Draw(40_000, seed: 3, baseline: x => Math.Exp(-2.3 + 0.6 * x[0]), lift: x => 0.01 + 0.06 * x[1]);

        var fit = MultiplicativeLift.Train(rows, Doses, [1], penalty: 1e-6);

        Assert.Multiple(() =>
        {
            Assert.That(fit.Weights[0], Is.EqualTo(0.06).Within(0.015));
            Assert.That(fit.Intercept, Is.EqualTo(0.01).Within(0.008));
        });
    }

    [Test]
    public void Train_WhenOnlyTheBaselineDependsOnTheLiftColumn_ReadsNoLiftFromIt()
    {
        // A column that raises the chance of buying at every level, not the lift: a fit of lift alone on residuals of
        // a cruder baseline would credit it with lift, since every discounted row has d > 0.
        var rows = Draw(40_000, seed: 4, baseline: x => Math.Exp(-3 + 1.5 * x[1]), lift: _ => 0.04);

        var fit = MultiplicativeLift.Train(rows, Doses, [1], penalty: 1e-6);

        Assert.Multiple(() =>
        {
            Assert.That(fit.Weights[0], Is.EqualTo(0).Within(0.012));
            Assert.That(fit.Intercept, Is.EqualTo(0.04).Within(0.01));
        });
    }

    [Test]
    public void LanguageHead_WhenTheLiftFallsWithThePricePaidAgainstViewed_PricesLowerPayersAsMoreResponsive()
    {
        // Users who buy below what they look at respond more to a discount, at the same words: the head's lift reads both.
        var random = new Random(5);
        var rows = Enumerable.Range(0, 30_000).Select(_ =>
        {
            var x = new float[UpliftFeatures.Count];
            x[UpliftFeatures.PriceLanguageColumn] = (float)random.NextDouble();
            x[UpliftFeatures.PricePaidVersusViewedColumn] = (float)(random.NextDouble() - 0.5);
            var arm = random.Next(Doses.Length);
            var lift = 0.03 + 0.03 * x[UpliftFeatures.PriceLanguageColumn] - 0.05 * x[UpliftFeatures.PricePaidVersusViewedColumn];
            return new UpliftRow(x, arm, random.NextDouble() < 0.08 * (1 + Doses[arm] * lift));
        }).ToList();

        var learner = UpliftLearner.Fit(rows, Doses.Length, UpliftLearnerOptions.LanguageHead, seed: 1, Doses);

        var paysLess = new float[UpliftFeatures.Count];
        paysLess[UpliftFeatures.PriceLanguageColumn] = 0.5f;
        paysLess[UpliftFeatures.PricePaidVersusViewedColumn] = -0.4f;
        var paysMore = (float[])paysLess.Clone();
        paysMore[UpliftFeatures.PricePaidVersusViewedColumn] = 0.4f;
        var predicted = learner.Predict([paysLess, paysMore]);
        double RelativeLiftAtTop(double[] p) => p[^1] / p[0] - 1;
        Assert.That(RelativeLiftAtTop(predicted[0]), Is.GreaterThan(RelativeLiftAtTop(predicted[1]) + 0.3),
            "the true relative lift at 20 % is 1.15 for the lower payer and 0.35 for the higher");
    }

    [Test]
    public void Build_WhenThePriceSignalsAreSet_PutsThemInTheColumnsTheLanguageHeadReads()
    {
        var signals = new UserSignals(3, 9_000, 4, 12, 0.5, 1, 0.2, 5, 0.1, 0.05, PricePaidVersusViewed: -0.37, PriceTalkShare: 0.3, AverageBasketCents: 4_000);

        var features = UpliftFeatures.Build(signals, 2_000, 1_200, new TextMatch(0.1, 0.2, PriceLanguage: 0.64), scorerProbability: null);

        Assert.Multiple(() =>
        {
            Assert.That(features[UpliftFeatures.PricePaidVersusViewedColumn], Is.EqualTo(-0.37f));
            Assert.That(features[UpliftFeatures.PriceLanguageColumn], Is.EqualTo(0.64f));
        });
    }

    private static List<UpliftRow> Draw(int count, int seed, Func<float[], double> baseline, Func<float[], double> lift)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ =>
        {
            float[] x = [(float)random.NextDouble(), (float)random.NextDouble()];
            var arm = random.Next(Doses.Length);
            var p = Math.Min(0.95, baseline(x) * (1 + Doses[arm] * lift(x)));
            return new UpliftRow(x, arm, random.NextDouble() < p);
        }).ToList();
    }
}
