using Discounts.Core.Numerics;

namespace Discounts.Core.Recommending;

/// <summary>
/// How a fit went. Hit rates and NDCG are measured on the held-out half of the validation users (HeldOutUsers of
/// them). HeldOutSelected is what the selection picked on the other half (the model measured there); Selected is what
/// it picked for the served model, fitted on every user, with each candidate's cross-validated HR@10 on them in
/// InnerValidationHitRatesAt10.
/// </summary>
public sealed record BlendFitReport(
    int Users, int Examples, int Positives, double LogLoss, double HeldOutHitRateAt10, IReadOnlyDictionary<string, double> HeldOutSourceHitRatesAt10,
    int HeldOutUsers = 0, double HeldOutNdcgAt10 = 0, IReadOnlyDictionary<string, double>? HeldOutSourceNdcgAt10 = null,
    string HeldOutSelected = "", string Selected = "", IReadOnlyDictionary<string, double>? InnerValidationHitRatesAt10 = null);

/// <summary>
/// Fits the blend on candidates of validation users labelled by what they did after the cut-off, and chooses it by
/// model selection: candidates are every feature alone, per-user softmax (conditional logit) fits at several
/// penalties, and a direct search on HR@10 + NDCG@10 started from the best softmax fit. Each is scored by
/// <see cref="Folds"/>-fold cross-validation on the fitting users; the best feature alone is kept unless a blend is
/// clearly better (see <see cref="Select"/>), and the choice is refitted on all of them; so on that inner validation
/// the blend is never worse than a single source. The report
/// runs the whole selection on half the users and measures the chosen model against each feature alone on the other
/// half; the returned model is then selected and fitted on all.
/// </summary>
public static class LogisticBlendFitter
{
    public const int Folds = 3;

    /// <summary>The fewest users a blend must win on, net of those it loses, to replace the best single feature.</summary>
    public const int MinimumNetWins = 3;

    private const double MaxWeight = 20;

    private static readonly double[] Penalties = [1e-4, 1e-2, 1];

    public static (BlendModel Model, BlendFitReport Report) Fit(string version, string modelVersion, IReadOnlyList<FitGroup> groups, double l2 = 1e-5, int iterations = 50)
    {
        var fitHalf = groups.Where((_, i) => i % 2 == 0).ToList();
        var heldOut = groups.Where((_, i) => i % 2 == 1).ToList();
        var half = Select(fitHalf, iterations);
        var halfModel = new BlendModel(version, modelVersion, half.Weights, half.Intercept);
        var sourceRates = RecommendationFeatures.Names.Select((name, f) => (name, f))
            .ToDictionary(p => p.name, p => HitRate(heldOut, features => features[p.f]));
        var sourceNdcg = RecommendationFeatures.Names.Select((name, f) => (name, f))
            .ToDictionary(p => p.name, p => BlendRanking.Measure(heldOut, BlendRanking.Alone(p.f)).Ndcg);

        var chosen = Select(groups, iterations);
        var model = new BlendModel(version, modelVersion, chosen.Weights, chosen.Intercept);
        var examples = groups.Sum(g => g.Labels.Count);
        var positives = groups.Sum(g => g.Labels.Count(l => l));
        var logLoss = examples == 0 ? 0 : groups.SelectMany(g => g.Features.Zip(g.Labels))
            .Sum(x => -Math.Log(Math.Clamp(x.Second ? model.Score(x.First) : 1 - model.Score(x.First), 1e-12, 1))) / examples;
        return (model, new BlendFitReport(groups.Count, examples, positives, logLoss,
            HitRate(heldOut, features => halfModel.Score(features)), sourceRates,
            heldOut.Count, BlendRanking.Measure(heldOut, half.Weights).Ndcg, sourceNdcg, half.Name, chosen.Name, chosen.InnerHitRates));
    }

    /// <summary>
    /// The sign test every challenger must pass here, and a fine-tuned scorer against the serving one: counted user by
    /// user, the challenger hits where the incumbent misses more often than the reverse by at least one standard error
    /// of that difference and by at least <see cref="MinimumNetWins"/> users.
    /// </summary>
    public static bool ClearlyBetter(int wins, int losses) => wins - losses >= Math.Max(MinimumNetWins, Math.Sqrt(wins + losses));

    /// <summary>What <see cref="Select"/> chose: the weights refitted on every given group, and how each candidate did.</summary>
    public sealed record Selection(string Name, double[] Weights, double Intercept, IReadOnlyDictionary<string, double> InnerHitRates);

    /// <summary>
    /// Cross-validates every candidate on <paramref name="groups"/> (folds by position) and refits the chosen one on
    /// all of them. The best feature alone (by HR@10, then NDCG@10) is the default; a blend replaces it only when, user
    /// by user, it hits where the feature misses clearly more often than the reverse (a sign test at one standard
    /// error, and at least <see cref="MinimumNetWins"/> users): with a few hundred users, picking the best of many
    /// candidates by a point estimate alone mostly picks the luckiest. So on this inner validation the chosen model is
    /// never worse than any single feature.
    /// </summary>
    public static Selection Select(IReadOnlyList<FitGroup> groups, int iterations = 50)
    {
        var candidates = Candidates(iterations);
        var folds = Enumerable.Range(0, Folds).Select(k => (
            Train: (IReadOnlyList<FitGroup>)groups.Where((_, i) => i % Folds != k).ToList(),
            Test: (IReadOnlyList<FitGroup>)groups.Where((_, i) => i % Folds == k).ToList(),
            Positions: Enumerable.Range(0, groups.Count).Where(i => i % Folds == k).ToList())).ToList();
        var inner = new Dictionary<string, double>();
        var hits = new bool[candidates.Count][];
        var scores = new (double Hits, double Ndcg)[candidates.Count];
        for (var c = 0; c < candidates.Count; c++)
        {
            hits[c] = new bool[groups.Count];
            double ndcg = 0;
            foreach (var (train, test, positions) in folds)
            {
                var each = BlendRanking.MeasureEach(test, candidates[c].Fit(train));
                for (var g = 0; g < each.Length; g++)
                {
                    hits[c][positions[g]] = each[g].Hit;
                    ndcg += each[g].Ndcg;
                }
            }

            scores[c] = groups.Count == 0 ? (0, 0) : ((double)hits[c].Count(h => h) / groups.Count, ndcg / groups.Count);
            inner[candidates[c].Name] = Math.Round(scores[c].Hits, 4);
        }

        var best = Enumerable.Range(0, candidates.Count).Where(c => candidates[c].Single).OrderByDescending(c => scores[c].Hits)
            .ThenByDescending(c => scores[c].Ndcg).ThenBy(c => c).First();
        var single = best;
        foreach (var c in Enumerable.Range(0, candidates.Count).Where(c => !candidates[c].Single))
        {
            var wins = hits[c].Where((hit, g) => hit && !hits[single][g]).Count();
            var losses = hits[c].Where((hit, g) => !hit && hits[single][g]).Count();
            if (ClearlyBetter(wins, losses) && (scores[c].Hits > scores[best].Hits || (scores[c].Hits == scores[best].Hits && scores[c].Ndcg > scores[best].Ndcg)))
            {
                best = c;
            }
        }

        var weights = candidates[best].Fit(groups);
        // Rankings ignore scale, but the served score is a logistic one: keep it away from saturating to exactly 1,
        // where distinct candidates would tie.
        var largest = weights.Max(Math.Abs);
        if (largest > MaxWeight)
        {
            weights = weights.Select(w => w * MaxWeight / largest).ToArray();
        }

        return new Selection(candidates[best].Name, weights, Intercept(groups, weights), inner);
    }

    private sealed record Candidate(string Name, Func<IReadOnlyList<FitGroup>, double[]> Fit, bool Single = false);

    private const double TieBreakWeight = 1e-3;

    private static double[] TiesByScorer(int feature)
    {
        var weights = BlendRanking.Alone(feature);
        weights[RecommendationFeatures.ScorerIndex] = TieBreakWeight;
        return weights;
    }

    private static List<Candidate> Candidates(int iterations)
    {
        // The search starts from the same softmax fits the softmax candidates make on the same fold: fitted once.
        var fits = new Dictionary<(IReadOnlyList<FitGroup> Train, double Penalty), double[]>();
        double[] Softmax(IReadOnlyList<FitGroup> train, double penalty) =>
            fits.TryGetValue((train, penalty), out var known) ? known : fits[(train, penalty)] = Listwise(train, penalty, iterations).Weights;

        var candidates = RecommendationFeatures.Names.Select((name, f) => new Candidate($"{name} alone", _ => BlendRanking.Alone(f), Single: true)).ToList();
        // A source's own order with the scorer breaking its ties (and ordering what the source did not propose): the
        // scorer's weight is too small to overturn any real difference in the source's score. Without a scorer the
        // feature is 0 and these rank exactly as the source alone, so they can never win the sign test.
        candidates.AddRange(Enumerable.Range(0, RecommendationFeatures.SourceCount).Select(f => new Candidate(
            $"{RecommendationFeatures.Names[f]} alone, ties by scorer", _ => TiesByScorer(f))));
        candidates.AddRange(Penalties.Select(penalty => new Candidate(FormattableString.Invariant($"softmax l2={penalty:G2}"),
            train => Softmax(train, penalty))));
        // The search starts from whichever simpler candidate ranks the training folds best, a single source included,
        // so it refines the strongest signal with small weights on the others rather than replacing it.
        candidates.Add(new Candidate("HR/NDCG search", train =>
        {
            var start = Penalties.Select(penalty => Softmax(train, penalty))
                .Concat(Enumerable.Range(0, RecommendationFeatures.Count).Select(BlendRanking.Alone))
                .MaxBy(w => BlendRanking.Objective(BlendRanking.Measure(train, w)))!;
            return BlendRanking.Search(train, start);
        }));
        return candidates;
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

        var penalty = Math.Max(l2, 1e-6) * useful.Count;
        var gate = new Lock();
        for (var iteration = 0; iteration < Math.Min(iterations, 100); iteration++)
        {
            var gradient = new double[features];
            var hessian = new double[features, features];
            // Groups add up independently: each thread sums its share, then adds it to the total once.
            Parallel.For(
                0,
                useful.Count,
                () => (Gradient: new double[features], Hessian: new double[features, features]),
                (g, _, partial) =>
                {
                    AddListwiseTerms(useful[g], weights, partial.Gradient, partial.Hessian);
                    return partial;
                },
                partial =>
                {
                    lock (gate)
                    {
                        for (var i = 0; i < features; i++)
                        {
                            gradient[i] += partial.Gradient[i];
                            for (var j = 0; j <= i; j++)
                            {
                                hessian[i, j] += partial.Hessian[i, j];
                            }
                        }
                    }
                });

            for (var i = 0; i < features; i++)
            {
                for (var j = 0; j < i; j++)
                {
                    hessian[j, i] = hessian[i, j];
                }

                gradient[i] += penalty * weights[i];
                hessian[i, i] += penalty;
            }

            var step = LinearSystem.Solve(hessian, gradient);
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

    /// <summary>
    /// One group's share of the conditional logit's gradient and (lower-triangle) Hessian at <paramref name="weights"/>.
    /// The Hessian is Σ p (x − μ)(x − μ)ᵀ = Σ p x xᵀ − μ μᵀ (the p sum to 1), so the sum runs over each candidate's
    /// non-zero features only: most sources propose few of a user's candidates, and the dense form cost ten times more.
    /// </summary>
    private static void AddListwiseTerms(FitGroup group, double[] weights, double[] gradient, double[,] hessian)
    {
        var features = weights.Length;
        var n = group.Features.Count;
        var scores = new double[n];
        var max = double.MinValue;
        for (var c = 0; c < n; c++)
        {
            var row = group.Features[c];
            for (var f = 0; f < features; f++)
            {
                scores[c] += weights[f] * row[f];
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
        var second = new double[features, features];
        Span<int> nonZero = stackalloc int[features];
        for (var c = 0; c < n; c++)
        {
            var p = scores[c] / total;
            var row = group.Features[c];
            var count = 0;
            for (var f = 0; f < features; f++)
            {
                if (row[f] != 0)
                {
                    nonZero[count++] = f;
                    mean[f] += p * row[f];
                }
            }

            for (var a = 0; a < count; a++)
            {
                var i = nonZero[a];
                var pi = p * row[i];
                for (var b = 0; b <= a; b++)
                {
                    second[i, nonZero[b]] += pi * row[nonZero[b]];
                }
            }
        }

        var positives = 0;
        for (var c = 0; c < n; c++)
        {
            if (!group.Labels[c])
            {
                continue;
            }

            positives++;
            for (var f = 0; f < features; f++)
            {
                gradient[f] -= group.Features[c][f] - mean[f];
            }
        }

        for (var i = 0; i < features; i++)
        {
            for (var j = 0; j <= i; j++)
            {
                hessian[i, j] += positives * (second[i, j] - (mean[i] * mean[j]));
            }
        }
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

            var step = LinearSystem.Solve(hessian, gradient);
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
}
