using Discounts.Core.Evaluation;

namespace Discounts.Tests.Core.Discounting;

/// <summary>
/// Six rows worked by hand with scikit-uplift's definitions (see the comments for the curve points), so a change that
/// drifts from the published metric fails here.
/// </summary>
public sealed class UpliftMetricsTests
{
    private static readonly bool[] Outcome = [true, false, true, false, true, false];
    private static readonly bool[] Treated = [true, true, false, false, true, false];
    private static readonly double[] Score = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4];

    [Test]
    public void UpliftCurve_WhenScoresAreDistinct_MatchesHandComputedPoints()
    {
        // (treated rate − control rate) × n after each row: 1, 1, −1.5, 0, 5/6, 2.
        var (x, y) = UpliftMetrics.UpliftCurve(Outcome, Score, Treated);
        Assert.That(x, Is.EqualTo(new double[] { 0, 1, 2, 3, 4, 5, 6 }));
        Assert.That(y, Is.EqualTo(new[] { 0, 1, 1, -1.5, 0, 5.0 / 6, 2 }).Within(1e-12));
    }

    [Test]
    public void QiniCurve_WhenScoresAreDistinct_MatchesHandComputedPoints()
    {
        // treated responders − control responders × treated / control: 1, 1, −1, 0, 0.5, 1.
        var (_, y) = UpliftMetrics.QiniCurve(Outcome, Score, Treated);
        Assert.That(y, Is.EqualTo(new[] { 0, 1, 1, -1, 0, 0.5, 1 }).Within(1e-12));
    }

    [Test]
    public void QiniAuc_WhenComputedByHand_IsMinusOneOverSixAndAHalf()
    {
        // Actual area 2.0; perfect curve (0,0)(2,2)(5,2)(6,1) has area 9.5; the random line to (6,1) has area 3.
        Assert.That(UpliftMetrics.QiniAuc(Outcome, Score, Treated), Is.EqualTo((2.0 - 3) / (9.5 - 3)).Within(1e-12));
    }

    [Test]
    public void UpliftAuc_WhenComputedByHand_IsMinusZeroPointFourFour()
    {
        // Actual area 7/3; perfect curve (0,0)(2,2)(4,4)(5,10/3)(6,2) has area 43/3; the random line to (6,2) has area 6.
        Assert.That(UpliftMetrics.UpliftAuc(Outcome, Score, Treated), Is.EqualTo((7.0 / 3 - 6) / (43.0 / 3 - 6)).Within(1e-12));
    }

    [Test]
    public void UpliftAtK_WhenTopHalfIsTaken_IsTreatedMinusControlRate()
    {
        // Top 3 rows: treated 1 and 0 (rate 0.5), control 1 (rate 1).
        Assert.That(UpliftMetrics.UpliftAtK(Outcome, Score, Treated, 0.5), Is.EqualTo(-0.5).Within(1e-12));
    }

    [Test]
    public void QiniAuc_WhenScoreIsThePerfectOrder_IsOne()
    {
        var perfect = Outcome.Zip(Treated, (y, t) => (y ? 1.0 : 0) * (t ? 1 : 0) - (y ? 1.0 : 0) * (t ? 0 : 1)).ToArray();
        Assert.That(UpliftMetrics.QiniAuc(Outcome, perfect, Treated), Is.EqualTo(1).Within(1e-12));
    }

    [Test]
    public void UpliftCurve_WhenScoresTie_EmitsOnePointPerDistinctScore()
    {
        double[] tied = [0.5, 0.5, 0.5, 0.1, 0.1, 0.1];
        var (x, _) = UpliftMetrics.UpliftCurve(Outcome, tied, Treated);
        Assert.That(x, Is.EqualTo(new double[] { 0, 3, 6 }));
    }
}
