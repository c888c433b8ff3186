namespace Discounts.Core.Evaluation;

/// <summary>
/// Uplift metrics with the exact definitions of scikit-uplift 0.5 (`uplift_curve`, `qini_curve`, `uplift_auc_score`,
/// `qini_auc_score` with negative_effect=True, and `uplift_at_k` with strategy 'overall'), so figures compare with
/// published ones. Order: by predicted uplift descending; ties keep numpy's reversed stable order (later rows first).
/// </summary>
public static class UpliftMetrics
{
    /// <summary>Points (n, value) of the uplift curve: (treated rate − control rate) × n at each distinct score.</summary>
    public static (double[] X, double[] Y) UpliftCurve(IReadOnlyList<bool> outcome, IReadOnlyList<double> uplift, IReadOnlyList<bool> treated) =>
        Curve(outcome, uplift, treated, (yTreated, nTreated, yControl, nControl, nAll) =>
            (Ratio(yTreated, nTreated) - Ratio(yControl, nControl)) * nAll);

    /// <summary>Points of the Qini curve: treated responders − control responders × (treated / control) at each cut.</summary>
    public static (double[] X, double[] Y) QiniCurve(IReadOnlyList<bool> outcome, IReadOnlyList<double> uplift, IReadOnlyList<bool> treated) =>
        Curve(outcome, uplift, treated, (yTreated, nTreated, yControl, nControl, _) =>
            yTreated - yControl * Ratio(nTreated, nControl));

    /// <summary>The area between the model's uplift curve and random targeting, normalised by the perfect model's.</summary>
    public static double UpliftAuc(IReadOnlyList<bool> outcome, IReadOnlyList<double> uplift, IReadOnlyList<bool> treated)
    {
        var controlResponders = Enumerable.Range(0, outcome.Count).Count(i => outcome[i] && !treated[i]);
        var treatedNonResponders = Enumerable.Range(0, outcome.Count).Count(i => !outcome[i] && treated[i]);
        var perfectScore = Enumerable.Range(0, outcome.Count)
            .Select(i => 2.0 * (outcome[i] == treated[i] ? 1 : 0) + (controlResponders > treatedNonResponders ? B(outcome[i]) : B(treated[i])))
            .ToArray();
        return NormalisedArea(UpliftCurve(outcome, uplift, treated), UpliftCurve(outcome, perfectScore, treated));
    }

    /// <summary>The Qini coefficient: the area between the model's Qini curve and random, over the perfect model's.</summary>
    public static double QiniAuc(IReadOnlyList<bool> outcome, IReadOnlyList<double> uplift, IReadOnlyList<bool> treated)
    {
        var perfectScore = Enumerable.Range(0, outcome.Count).Select(i => B(outcome[i]) * B(treated[i]) - B(outcome[i]) * (1 - B(treated[i]))).ToArray();
        return NormalisedArea(QiniCurve(outcome, uplift, treated), QiniCurve(outcome, perfectScore, treated));
    }

    /// <summary>Treated minus control response rate among the top k share of everyone, ranked together.</summary>
    public static double UpliftAtK(IReadOnlyList<bool> outcome, IReadOnlyList<double> uplift, IReadOnlyList<bool> treated, double k)
    {
        var top = DescendingOrder(uplift).Take((int)(outcome.Count * k)).ToList();
        var treatedTop = top.Where(i => treated[i]).ToList();
        var controlTop = top.Where(i => !treated[i]).ToList();
        return Mean(treatedTop, outcome) - Mean(controlTop, outcome);
    }

    private delegate double CurveValue(double yTreated, double nTreated, double yControl, double nControl, double nAll);

    private static (double[] X, double[] Y) Curve(IReadOnlyList<bool> outcome, IReadOnlyList<double> uplift, IReadOnlyList<bool> treated, CurveValue value)
    {
        if (outcome.Count != uplift.Count || outcome.Count != treated.Count)
        {
            throw new ArgumentException("outcome, uplift and treated must have the same length.");
        }

        var order = DescendingOrder(uplift).ToArray();
        var xs = new List<double>();
        var ys = new List<double>();
        double nTreated = 0, yTreated = 0, yControl = 0;
        for (var position = 0; position < order.Length; position++)
        {
            var i = order[position];
            nTreated += B(treated[i]);
            yTreated += B(outcome[i] && treated[i]);
            yControl += B(outcome[i] && !treated[i]);
            var lastOfItsScore = position == order.Length - 1 || uplift[order[position + 1]] != uplift[i];
            if (lastOfItsScore)
            {
                var nAll = position + 1.0;
                xs.Add(nAll);
                ys.Add(value(yTreated, nTreated, yControl, nAll - nTreated, nAll));
            }
        }

        if (xs.Count == 0 || ys[0] != 0 || xs[0] != 0)
        {
            xs.Insert(0, 0);
            ys.Insert(0, 0);
        }

        return (xs.ToArray(), ys.ToArray());
    }

    private static double NormalisedArea((double[] X, double[] Y) actual, (double[] X, double[] Y) perfect)
    {
        var baseline = Trapezoid([0, perfect.X[^1]], [0, perfect.Y[^1]]);
        return (Trapezoid(actual.X, actual.Y) - baseline) / (Trapezoid(perfect.X, perfect.Y) - baseline);
    }

    private static double Trapezoid(double[] x, double[] y)
    {
        double area = 0;
        for (var i = 1; i < x.Length; i++)
        {
            area += (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2;
        }

        return area;
    }

    /// <summary>numpy's argsort(kind="mergesort")[::-1]: descending score, and among equal scores the later row first.</summary>
    private static IEnumerable<int> DescendingOrder(IReadOnlyList<double> score) =>
        Enumerable.Range(0, score.Count).OrderByDescending(i => score[i]).ThenByDescending(i => i);

    private static double Ratio(double numerator, double denominator) => denominator != 0 ? numerator / denominator : 0;

    private static double Mean(List<int> rows, IReadOnlyList<bool> outcome) => rows.Count == 0 ? double.NaN : rows.Average(i => B(outcome[i]));

    private static double B(bool value) => value ? 1 : 0;
}
