namespace Discounts.Core.Recommending;

/// <summary>
/// The final ranking: a logistic model over <see cref="RecommendationFeatures"/>, so each candidate's score is the
/// fitted chance that the user interacts with it. Weights come from <see cref="LogisticBlendFitter"/>, never from hand.
/// </summary>
public sealed record BlendModel(string Version, string ModelVersion, IReadOnlyList<double> Weights, double Intercept)
{
    /// <summary>
    /// Used only until the first fit has finished (or when the shop has no history to fit on): every feature counts the
    /// same. The first fit replaces it, and its version says "prior" so responses show it.
    /// </summary>
    public static BlendModel Prior(string modelVersion) => new("prior", modelVersion, Enumerable.Repeat(1.0, RecommendationFeatures.Count).ToArray(), -3);

    public double Score(ReadOnlySpan<float> features)
    {
        var z = Intercept;
        for (var i = 0; i < Weights.Count; i++)
        {
            z += Weights[i] * features[i];
        }

        return 1 / (1 + Math.Exp(-z));
    }

    /// <summary>The source (not the scorer) that adds the most to this candidate's score, or -1 when none does.</summary>
    public int StrongestSource(ReadOnlySpan<float> features)
    {
        var best = -1;
        var bestContribution = 0.0;
        for (var i = 0; i < RecommendationFeatures.SourceCount; i++)
        {
            var contribution = Math.Max(Weights[i], 1e-6) * features[i];
            if (features[i] > 0 && contribution > bestContribution)
            {
                best = i;
                bestContribution = contribution;
            }
        }

        return best;
    }

    public IReadOnlyDictionary<string, double> Named() =>
        RecommendationFeatures.Names.Select((name, i) => (name, i)).ToDictionary(p => p.name, p => Weights[p.i]);
}

/// <summary>One labelled candidate list: a validation user's candidates and whether they interacted with each later.</summary>
public sealed record FitGroup(IReadOnlyList<float[]> Features, IReadOnlyList<bool> Labels);

/// <summary>How a fit went. Hit rates are measured on the held-out half of the validation users.</summary>
public sealed record BlendFitReport(
    int Users, int Examples, int Positives, double LogLoss, double HeldOutHitRateAt10, IReadOnlyDictionary<string, double> HeldOutSourceHitRatesAt10);

/// <summary>
/// Fits the blend on candidates of validation users labelled by what they did after the cut-off: the weights by a
/// per-user softmax (conditional logit) likelihood, the intercept by logistic loss (Newton steps; features in [0, 1]). The report fits on half the users and
/// measures hit rate at 10 on the other half, against each feature alone; the returned model is then fitted on all.
/// </summary>
public static class LogisticBlendFitter
{
    public static (BlendModel Model, BlendFitReport Report) Fit(string version, string modelVersion, IReadOnlyList<FitGroup> groups, double l2 = 1e-5, int iterations = 50)
    {
        var fitHalf = groups.Where((_, i) => i % 2 == 0).ToList();
        var heldOut = groups.Where((_, i) => i % 2 == 1).ToList();
        var (halfWeights, halfIntercept) = Listwise(fitHalf, l2, iterations);
        var halfModel = new BlendModel(version, modelVersion, halfWeights, halfIntercept);
        var sourceRates = RecommendationFeatures.Names.Select((name, f) => (name, f))
            .ToDictionary(p => p.name, p => HitRate(heldOut, features => features[p.f]));

        var (weights, intercept) = Listwise(groups, l2, iterations);
        var model = new BlendModel(version, modelVersion, weights, intercept);
        var examples = groups.Sum(g => g.Labels.Count);
        var positives = groups.Sum(g => g.Labels.Count(l => l));
        var logLoss = examples == 0 ? 0 : groups.SelectMany(g => g.Features.Zip(g.Labels))
            .Sum(x => -Math.Log(Math.Clamp(x.Second ? model.Score(x.First) : 1 - model.Score(x.First), 1e-12, 1))) / examples;
        return (model, new BlendFitReport(groups.Count, examples, positives, logLoss,
            HitRate(heldOut, features => halfModel.Score(features)), sourceRates));
    }

    /// <summary>Share of groups with a positive among their 10 best-scored candidates (ties broken by list order).</summary>
    public static double HitRate(IReadOnlyList<FitGroup> groups, Func<float[], double> score)
    {
        if (groups.Count == 0)
        {
            return 0;
        }

        var hits = groups.Count(g => g.Features.Select((f, i) => (Score: score(f), i)).OrderByDescending(x => x.Score).ThenBy(x => x.i)
            .Take(10).Any(x => g.Labels[x.i]));
        return (double)hits / groups.Count;
    }

    /// <summary>
    /// The weights maximise each validation user's softmax likelihood of the items they went on to choose, among their
    /// own candidates (a conditional logit: a ranking objective, so popular items are not rewarded just for being
    /// chosen by many users). Newton steps; then the intercept alone is fitted by logistic loss so the score reads as
    /// a chance.
    /// </summary>
    private static (double[] Weights, double Intercept) Listwise(IReadOnlyList<FitGroup> groups, double l2, int iterations)
    {
        var features = RecommendationFeatures.Count;
        var weights = new double[features];
        var useful = groups.Where(g => g.Labels.Any(l => l) && g.Labels.Any(l => !l)).ToList();
        if (useful.Count == 0)
        {
            return Logistic(groups, l2, iterations);
        }

        var penalty = Math.Max(l2, 1e-4) * useful.Count;
        for (var iteration = 0; iteration < Math.Min(iterations, 100); iteration++)
        {
            var gradient = new double[features];
            var hessian = new double[features, features];
            foreach (var group in useful)
            {
                var n = group.Features.Count;
                var scores = new double[n];
                var max = double.MinValue;
                for (var c = 0; c < n; c++)
                {
                    for (var f = 0; f < features; f++)
                    {
                        scores[c] += weights[f] * group.Features[c][f];
                    }

                    max = Math.Max(max, scores[c]);
                }

                var total = 0.0;
                for (var c = 0; c < n; c++)
                {
                    scores[c] = Math.Exp(scores[c] - max);
                    total += scores[c];
                }

                var mean = new double[features];
                for (var c = 0; c < n; c++)
                {
                    var p = scores[c] / total;
                    for (var f = 0; f < features; f++)
                    {
                        mean[f] += p * group.Features[c][f];
                    }
                }

                var positives = group.Labels.Count(l => l);
                for (var c = 0; c < n; c++)
                {
                    var p = scores[c] / total;
                    for (var i = 0; i < features; i++)
                    {
                        var di = group.Features[c][i] - mean[i];
                        if (group.Labels[c])
                        {
                            gradient[i] -= group.Features[c][i] - mean[i];
                        }

                        for (var j = 0; j <= i; j++)
                        {
                            hessian[i, j] += positives * p * di * (group.Features[c][j] - mean[j]);
                        }
                    }
                }
            }

            for (var i = 0; i < features; i++)
            {
                for (var j = 0; j < i; j++)
                {
                    hessian[j, i] = hessian[i, j];
                }

                gradient[i] += penalty * weights[i];
                hessian[i, i] += penalty;
            }

            var step = Solve(hessian, gradient);
            var largest = 0.0;
            for (var i = 0; i < features; i++)
            {
                weights[i] -= step[i];
                largest = Math.Max(largest, Math.Abs(step[i]));
            }

            if (largest < 1e-7)
            {
                break;
            }
        }

        return (weights, Intercept(groups, weights));
    }

    /// <summary>The intercept that makes the mean score match the share of positives, for fixed weights (1-D Newton).</summary>
    private static double Intercept(IReadOnlyList<FitGroup> groups, double[] weights)
    {
        var margins = groups.SelectMany(g => g.Features).Select(x => weights.Select((w, f) => w * x[f]).Sum()).ToArray();
        var labels = groups.SelectMany(g => g.Labels).ToArray();
        var intercept = 0.0;
        for (var iteration = 0; iteration < 50 && margins.Length > 0; iteration++)
        {
            double gradient = 0, curvature = 1e-9;
            for (var r = 0; r < margins.Length; r++)
            {
                var p = 1 / (1 + Math.Exp(-(intercept + margins[r])));
                gradient += p - (labels[r] ? 1 : 0);
                curvature += p * (1 - p);
            }

            intercept -= gradient / curvature;
        }

        return intercept;
    }

    /// <summary>
    /// Newton's method (iteratively reweighted least squares) on the L2-penalised log loss; with eight parameters each
    /// step is one small linear solve, and it converges in a few dozen steps even when positives are rare.
    /// </summary>
    private static (double[] Weights, double Intercept) Logistic(IReadOnlyList<FitGroup> groups, double l2, int iterations)
    {
        var rows = groups.SelectMany(g => g.Features).ToArray();
        var labels = groups.SelectMany(g => g.Labels).ToArray();
        var features = RecommendationFeatures.Count;
        if (rows.Length == 0 || labels.All(l => l) || labels.All(l => !l))
        {
            return (new double[features], 0);
        }

        // Parameter 0 is the intercept (not penalised), then one weight per feature.
        var size = features + 1;
        var theta = new double[size];
        var positiveShare = labels.Count(l => l) / (double)labels.Length;
        theta[0] = Math.Log(positiveShare / (1 - positiveShare));
        var penalty = l2 * rows.Length;
        var x = new double[size];
        for (var iteration = 0; iteration < Math.Min(iterations, 100); iteration++)
        {
            var gradient = new double[size];
            var hessian = new double[size, size];
            for (var r = 0; r < rows.Length; r++)
            {
                x[0] = 1;
                for (var f = 0; f < features; f++)
                {
                    x[f + 1] = rows[r][f];
                }

                var z = 0.0;
                for (var i = 0; i < size; i++)
                {
                    z += theta[i] * x[i];
                }

                var p = 1 / (1 + Math.Exp(-z));
                var error = p - (labels[r] ? 1 : 0);
                var curvature = Math.Max(p * (1 - p), 1e-12);
                for (var i = 0; i < size; i++)
                {
                    gradient[i] += error * x[i];
                    for (var j = 0; j <= i; j++)
                    {
                        hessian[i, j] += curvature * x[i] * x[j];
                    }
                }
            }

            for (var i = 0; i < size; i++)
            {
                for (var j = 0; j < i; j++)
                {
                    hessian[j, i] = hessian[i, j];
                }

                if (i > 0)
                {
                    gradient[i] += penalty * theta[i];
                    hessian[i, i] += penalty;
                }
                else
                {
                    hessian[i, i] += 1e-9 * rows.Length;
                }
            }

            var step = Solve(hessian, gradient);
            var largest = 0.0;
            for (var i = 0; i < size; i++)
            {
                theta[i] -= step[i];
                largest = Math.Max(largest, Math.Abs(step[i]));
            }

            if (largest < 1e-7)
            {
                break;
            }
        }

        return (theta.Skip(1).ToArray(), theta[0]);
    }

    /// <summary>Gaussian elimination with partial pivoting; the matrix is small and positive definite.</summary>
    private static double[] Solve(double[,] matrix, double[] vector)
    {
        var n = vector.Length;
        var a = (double[,])matrix.Clone();
        var b = (double[])vector.Clone();
        for (var column = 0; column < n; column++)
        {
            var pivot = column;
            for (var row = column + 1; row < n; row++)
            {
                if (Math.Abs(a[row, column]) > Math.Abs(a[pivot, column]))
                {
                    pivot = row;
                }
            }

            for (var k = 0; k < n; k++)
            {
                (a[column, k], a[pivot, k]) = (a[pivot, k], a[column, k]);
            }

            (b[column], b[pivot]) = (b[pivot], b[column]);
            for (var row = column + 1; row < n; row++)
            {
                var factor = a[row, column] / a[column, column];
                for (var k = column; k < n; k++)
                {
                    a[row, k] -= factor * a[column, k];
                }

                b[row] -= factor * b[column];
            }
        }

        var solution = new double[n];
        for (var row = n - 1; row >= 0; row--)
        {
            var sum = b[row];
            for (var k = row + 1; k < n; k++)
            {
                sum -= a[row, k] * solution[k];
            }

            solution[row] = sum / a[row, row];
        }

        return solution;
    }
}
