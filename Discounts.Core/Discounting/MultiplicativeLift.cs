using Discounts.Core.Numerics;

namespace Discounts.Core.Discounting;

/// <summary>
/// The maximum-likelihood fit of p(buy | x, d) = exp(a·x) × (1 + d × (b·z)) on a randomised log, by Fisher scoring
/// with a ridge penalty on every weight but the two intercepts. The baseline and the lift are fitted together, so
/// where the baseline is wrong is not read as lift (a two-stage fit on residuals is biased that way, because every
/// treated row has d &gt; 0), and the lift's weights are not diluted by a noisy baseline in the regressor.
/// </summary>
public static class MultiplicativeLift
{
    /// <summary>β(z) = Intercept + Σ Weights[j] × z[LiftColumns[j]], per unit of dose, in the features' own units.</summary>
    /// <param name="LogLikelihood">The penalised log-likelihood the fit reached, for comparing nested models.</param>
    public sealed record Fit(double Intercept, double[] Weights, int[] LiftColumns, double LogLikelihood = 0)
    {
        public double Lift(ReadOnlySpan<float> features)
        {
            var lift = Intercept;
            for (var j = 0; j < LiftColumns.Length; j++)
            {
                lift += Weights[j] * features[LiftColumns[j]];
            }

            return lift;
        }
    }

    public static Fit Train(IReadOnlyList<UpliftRow> rows, IReadOnlyList<double> doses, IReadOnlyList<int> liftColumnList, double penalty, int maxIterations = 30)
    {
        var liftColumns = liftColumnList.Where(c => c < rows[0].Features.Length).ToArray();
        var k = rows[0].Features.Length;
        var m = liftColumns.Length;
        var (means, scales) = Standardisation(rows, k);
        var n = rows.Count;
        var x = new double[n][];
        for (var i = 0; i < n; i++)
        {
            x[i] = new double[k];
            for (var j = 0; j < k; j++)
            {
                x[i][j] = (rows[i].Features[j] - means[j]) / scales[j];
            }
        }

        // θ = [a₀, a₁..a_k, b₀, b₁..b_m] over standardised columns.
        var size = k + 1 + m + 1;
        var theta = new double[size];
        var meanDose = rows.Average(r => doses[r.Arm]);
        theta[k + 1] = 0.02;
        theta[0] = Math.Log(Math.Max(1e-4, rows.Average(r => r.Outcome ? 1.0 : 0.0) / (1 + theta[k + 1] * meanDose)));
        var ridge = new double[size];
        for (var j = 0; j < size; j++)
        {
            ridge[j] = j == 0 || j == k + 1 ? 0 : penalty * n;
        }

        var current = LogLikelihood(theta);
        for (var iteration = 0; iteration < maxIterations; iteration++)
        {
            var gradient = new double[size];
            var fisher = new double[size, size];
            var g = new double[size];
            for (var i = 0; i < n; i++)
            {
                var (q, lift, p) = Evaluate(theta, i);
                var dose = doses[rows[i].Arm];
                g[0] = p;
                for (var j = 0; j < k; j++)
                {
                    g[1 + j] = p * x[i][j];
                }

                g[k + 1] = q * dose;
                for (var j = 0; j < m; j++)
                {
                    g[k + 2 + j] = q * dose * x[i][liftColumns[j]];
                }

                var w = 1 / (p * (1 - p));
                var residual = ((rows[i].Outcome ? 1 : 0) - p) * w;
                for (var a = 0; a < size; a++)
                {
                    gradient[a] += residual * g[a];
                    var wa = w * g[a];
                    for (var b = a; b < size; b++)
                    {
                        fisher[a, b] += wa * g[b];
                    }
                }
            }

            for (var a = 0; a < size; a++)
            {
                gradient[a] -= ridge[a] * theta[a];
                fisher[a, a] += ridge[a] + 1e-9;
                for (var b = 0; b < a; b++)
                {
                    fisher[a, b] = fisher[b, a];
                }
            }

            var step = LinearSystem.Solve(fisher, gradient);
            var scale = 1.0;
            double[] candidate;
            double next;
            do
            {
                candidate = theta.Select((t, j) => t + scale * step[j]).ToArray();
                next = LogLikelihood(candidate);
                scale /= 2;
            }
            while (next < current - 1e-9 && scale > 1e-4);

            if (next < current - 1e-9)
            {
                break;
            }

            var gain = next - current;
            theta = candidate;
            current = next;
            if (gain < 1e-6 * n)
            {
                break;
            }
        }

        // Back to the features' own units: b·z over standardised z is b₀' + Σ b_j (z_j − μ_j) / σ_j.
        var weights = new double[m];
        var intercept = theta[k + 1];
        for (var j = 0; j < m; j++)
        {
            var column = liftColumns[j];
            weights[j] = theta[k + 2 + j] / scales[column];
            intercept -= weights[j] * means[column];
        }

        return new Fit(intercept, weights, liftColumns, current);

        (double Q, double Lift, double P) Evaluate(double[] t, int i)
        {
            var eta = t[0];
            for (var j = 0; j < k; j++)
            {
                eta += t[1 + j] * x[i][j];
            }

            var liftWeight = t[k + 1];
            for (var j = 0; j < m; j++)
            {
                liftWeight += t[k + 2 + j] * x[i][liftColumns[j]];
            }

            var q = Math.Exp(Math.Clamp(eta, -20, 0));
            var lift = Math.Max(1e-3, 1 + doses[rows[i].Arm] * liftWeight);
            return (q, lift, Math.Clamp(q * lift, 1e-6, 1 - 1e-6));
        }

        double LogLikelihood(double[] t)
        {
            var sum = 0.0;
            for (var i = 0; i < n; i++)
            {
                var p = Evaluate(t, i).P;
                sum += rows[i].Outcome ? Math.Log(p) : Math.Log(1 - p);
            }

            for (var j = 0; j < size; j++)
            {
                sum -= 0.5 * ridge[j] * t[j] * t[j];
            }

            return sum;
        }
    }

    private static (double[] Means, double[] Scales) Standardisation(IReadOnlyList<UpliftRow> rows, int k)
    {
        var means = new double[k];
        var scales = new double[k];
        foreach (var row in rows)
        {
            for (var j = 0; j < k; j++)
            {
                means[j] += row.Features[j];
            }
        }

        for (var j = 0; j < k; j++)
        {
            means[j] /= rows.Count;
        }

        foreach (var row in rows)
        {
            for (var j = 0; j < k; j++)
            {
                scales[j] += (row.Features[j] - means[j]) * (row.Features[j] - means[j]);
            }
        }

        for (var j = 0; j < k; j++)
        {
            scales[j] = Math.Sqrt(scales[j] / rows.Count) is var sd && sd > 1e-12 ? sd : double.PositiveInfinity;
        }

        return (means, scales);
    }
}
