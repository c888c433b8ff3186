using Discounts.Core.Evaluation;
using Discounts.Core.Numerics;
using System.Text.Json.Serialization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers.LightGbm;

namespace Discounts.Core.Discounting;

/// <summary>
/// Small, heavily regularised trees: uplift is a small difference of two noisy probabilities, and deep trees fit the
/// noise. The defaults were chosen on Hillstrom's Mens arm and then reported on the Womens arm (docs/BENCHMARKS.md).
/// </summary>
public sealed record UpliftLearnerOptions
{
    public UpliftLearnerKind Kind { get; init; } = UpliftLearnerKind.XLearner;

    public int Leaves { get; init; } = 4;
    public int Iterations { get; init; } = 100;
    public double LearningRate { get; init; } = 0.05;
    public int MinimumRowsPerLeaf { get; init; } = 700;
    public double L2Regularisation { get; init; } = 1.0;

    /// <summary>
    /// For <see cref="UpliftLearnerKind.Relative"/>: the relative lift β(x) is one ridge-penalised linear function of the
    /// standardised features, fitted jointly with a log-linear baseline (<see cref="MultiplicativeLift"/>), instead of
    /// boosted trees on the baseline's residuals. A few slopes are all a noisy randomised log can pin down, and a
    /// linear β keeps the lift of users between the log's extremes in proportion.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool LinearLift { get; init; }

    /// <summary>The ridge penalty of <see cref="LinearLift"/> on each standardised weight, times the number of rows.</summary>
    [JsonIgnore]
    public double LinearPenalty { get; init; } = 0.001;

    /// <summary>For <see cref="LinearLift"/>: the feature columns the lift reads; null for all of them.</summary>
    [JsonIgnore]
    public IReadOnlyList<int>? LiftColumns { get; init; }

    /// <summary>For <see cref="UpliftLearnerKind.Selected"/>: how many folds the candidates are cross-fitted on.</summary>
    public int SelectionFolds { get; init; } = 3;

    /// <summary>
    /// The candidates <see cref="UpliftLearnerKind.Selected"/> chooses among: the relative learner with boosted stumps
    /// (best on the generated demo shops), and the relative and X-learners with the small trees chosen on Hillstrom's
    /// Mens arm. Which one wins depends on how much data there is and how the effect is shaped, so the log decides.
    /// </summary>
    public static IReadOnlyList<UpliftLearnerOptions> Candidates { get; } =
    [
        new() { Kind = UpliftLearnerKind.Relative, Leaves = 2, Iterations = 200, MinimumRowsPerLeaf = 300 },
        new() { Kind = UpliftLearnerKind.Relative, Leaves = 4, Iterations = 100, MinimumRowsPerLeaf = 700 },
        new() { Kind = UpliftLearnerKind.XLearner, Leaves = 4, Iterations = 100, MinimumRowsPerLeaf = 700 },
    ];

    /// <summary>
    /// The learner of the language features: the relative learner whose lift is linear in what the user's words say
    /// about price (<see cref="PriceLanguage"/>) and in how far below what they look at users buy
    /// (<see cref="UserSignals.PricePaidVersusViewed"/>), its baseline the boosted stumps over every feature. On the
    /// tuning shops the other behavioural columns in the lift were collinear (discounted share, discount taken) or pulled
    /// it the wrong way on one shop of five (offer response); the price paid against viewed raised the median share from
    /// 0.671 to 0.683 there (docs/BENCHMARKS.md).
    /// </summary>
    public static UpliftLearnerOptions LanguageHead { get; } =
        new()
        {
            Kind = UpliftLearnerKind.Relative, LinearLift = true, LiftColumns = [UpliftFeatures.PriceLanguageColumn, UpliftFeatures.PricePaidVersusViewedColumn],
            Leaves = 2, Iterations = 200, MinimumRowsPerLeaf = 300,
        };

    public override string ToString() => LinearLift
        ? $"{Kind}(linear lift, penalty {LinearPenalty}; baseline leaves {Leaves}, iterations {Iterations}, min leaf {MinimumRowsPerLeaf})"
        : $"{Kind}(leaves {Leaves}, iterations {Iterations}, min leaf {MinimumRowsPerLeaf})";
}

public enum UpliftLearnerKind
{
    /// <summary>One outcome model per arm; uplift is the difference of two predictions.</summary>
    TLearner,
    /// <summary>
    /// The T-learner's outcome models impute each row's individual effect (Künzel et al., 2019), and a second stage
    /// regresses those effects directly. The effect is usually simpler than either outcome, so it is learned better.
    /// </summary>
    XLearner,
    /// <summary>
    /// A discount multiplies a user's chance of buying rather than adding to it: p(d) = p(0) × (1 + β(x) × d). A
    /// baseline classifier learns p(0) on the control rows; a second stage regresses the relative lift β(x) on the
    /// treated rows by weighted least squares, target (y − p̂0) / (p̂0 × d) with weight (p̂0 × d)², so every treated
    /// level informs one β. The sign of a discount's profit depends on β and the margin alone, not on p(0), so
    /// learning β directly is what the policy needs.
    /// </summary>
    Relative,
    /// <summary>
    /// Chooses among <see cref="UpliftLearnerOptions.Candidates"/> by cross-fitting on the training log: each candidate
    /// is fitted on all folds but one and ranks the rows of the one left out, and the candidate whose out-of-fold Qini
    /// coefficient (treated = any arm above 0) is highest is refitted on the whole log. The product and the
    /// evaluate-uplift verb run this same procedure, so the verb measures what the product does.
    /// </summary>
    Selected,
}

/// <summary>
/// Gradient-boosted (ML.NET LightGBM) uplift learners over arms 0..k: one classifier per arm, fitted only on the rows
/// that received it, and for the X-learner, effect regressors for every arm against arm 0. Arms are discount levels
/// in the product and e-mail versus none in the Hillstrom evaluation.
/// </summary>
public sealed class UpliftLearner
{
    private readonly MLContext ml;
    private readonly ITransformer[] arms;
    private readonly (ITransformer OnTreated, ITransformer OnControl, double TreatedShare)?[] effects;
    private readonly RelativeLift? relative;
    private readonly int featureCount;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(ITransformer Model, Type Output), System.Collections.Concurrent.ConcurrentBag<object>> engines = new();

    /// <summary>The options that were fitted: for <see cref="UpliftLearnerKind.Selected"/>, the candidate the log chose.</summary>
    public UpliftLearnerOptions Chosen { get; private init; } = new();

    /// <summary>For a selection, each candidate's mean out-of-fold Qini coefficient, in candidate order; empty otherwise.</summary>
    public IReadOnlyList<double> CandidateScores { get; private init; } = [];

    private UpliftLearner(MLContext ml, ITransformer[] arms, (ITransformer, ITransformer, double)?[] effects, RelativeLift? relative, int featureCount)
    {
        this.ml = ml;
        this.arms = arms;
        this.effects = effects;
        this.relative = relative;
        this.featureCount = featureCount;
    }

    /// <summary>The relative learner's two stages and the dose of each arm (a discount level's percent, or 1 for "treated").</summary>
    private sealed record RelativeLift(ITransformer Baseline, ITransformer? Lift, MultiplicativeLift.Fit? LinearLift, IReadOnlyList<double> Doses);

    /// <param name="doses">
    /// Each arm's size, for the relative learner: the ladder's percents in the product, {0, 1} for a yes/no treatment.
    /// Defaults to the arm index.
    /// </param>
    public static UpliftLearner Fit(IReadOnlyList<UpliftRow> rows, int armCount, UpliftLearnerOptions options, int seed, IReadOnlyList<double>? doses = null)
    {
        if (rows.Count == 0)
        {
            throw new ArgumentException("No training rows.", nameof(rows));
        }

        if (options.Kind == UpliftLearnerKind.Selected)
        {
            var scores = UpliftLearnerOptions.Candidates.Select(candidate => CrossFittedQini(rows, armCount, candidate, options.SelectionFolds, seed, doses)).ToList();
            var best = UpliftLearnerOptions.Candidates[scores.IndexOf(scores.Max())];
            var fitted = Fit(rows, armCount, best, seed, doses);
            return new UpliftLearner(fitted.ml, fitted.arms, fitted.effects, fitted.relative, fitted.featureCount) { Chosen = best, CandidateScores = scores };
        }

        var featureCount = rows[0].Features.Length;
        var ml = new MLContext(seed);
        if (options.Kind == UpliftLearnerKind.Relative)
        {
            var armDoses = doses ?? Enumerable.Range(0, armCount).Select(a => (double)a).ToArray();
            if (armDoses.Count != armCount || armDoses[0] != 0 || armDoses.Skip(1).Any(d => d <= 0))
            {
                throw new ArgumentException("One dose per arm is needed, 0 for the control arm and positive for the others.", nameof(doses));
            }

            return new UpliftLearner(ml, [], new (ITransformer, ITransformer, double)?[armCount], FitRelative(ml, rows, armDoses, featureCount, options, seed), featureCount) { Chosen = options };
        }

        var models = new ITransformer[armCount];
        for (var arm = 0; arm < armCount; arm++)
        {
            var armRows = rows.Where(r => r.Arm == arm).Select(r => new LabelledRow { Features = r.Features, Label = r.Outcome }).ToList();
            if (armRows.Count == 0 || armRows.All(r => r.Label) || armRows.All(r => !r.Label))
            {
                throw new InvalidOperationException($"Arm {arm} needs rows with both outcomes to be learned; it has {armRows.Count} rows.");
            }

            models[arm] = FitClassifier(ml, armRows, featureCount, options, seed);
        }

        var effects = new (ITransformer, ITransformer, double)?[armCount];
        if (options.Kind == UpliftLearnerKind.XLearner)
        {
            var control = rows.Where(r => r.Arm == 0).ToList();
            var controlPredictions = PredictArms(ml, models, featureCount, control.Select(r => r.Features).ToList());
            for (var arm = 1; arm < armCount; arm++)
            {
                var treated = rows.Where(r => r.Arm == arm).ToList();
                var treatedOnControlModel = PredictArms(ml, models, featureCount, treated.Select(r => r.Features).ToList());
                var onTreated = treated.Select((r, i) => new EffectRow { Features = r.Features, Label = (float)(B(r.Outcome) - treatedOnControlModel[i][0]) });
                var onControl = control.Select((r, i) => new EffectRow { Features = r.Features, Label = (float)(controlPredictions[i][arm] - B(r.Outcome)) });
                effects[arm] = (FitEffect(ml, onTreated, featureCount, options, seed), FitEffect(ml, onControl, featureCount, options, seed),
                    treated.Count / (double)(treated.Count + control.Count));
            }
        }

        return new UpliftLearner(ml, models, effects, null, featureCount) { Chosen = options };
    }

    /// <summary>
    /// The mean Qini coefficient of one candidate over folds it did not see; the folds are stratified by arm and
    /// outcome, so each holds its share of every arm's buyers. One score per row: the mean lift over the treated arms.
    /// </summary>
    public static double CrossFittedQini(IReadOnlyList<UpliftRow> rows, int armCount, UpliftLearnerOptions candidate, int folds, int seed, IReadOnlyList<double>? doses = null)
    {
        var fold = StratifiedFolds(rows, folds, seed);
        var scores = new List<double>();
        for (var k = 0; k < folds; k++)
        {
            var train = rows.Where((_, i) => fold[i] != k).ToList();
            var test = rows.Where((_, i) => fold[i] == k).ToList();
            var predictions = Fit(train, armCount, candidate, seed, doses).Predict(test.Select(r => r.Features).ToList());
            var uplift = predictions.Select(p => p.Skip(1).Average() - p[0]).ToArray();
            scores.Add(UpliftMetrics.QiniAuc(test.Select(r => r.Outcome).ToArray(), uplift, test.Select(r => r.Arm > 0).ToArray()));
        }

        return scores.Average();
    }

    /// <summary>Each row's fold, 0..folds−1, dealt round-robin within each (arm, outcome) stratum after a seeded shuffle.</summary>
    public static int[] StratifiedFolds(IReadOnlyList<UpliftRow> rows, int folds, int seed)
    {
        var random = new Random(seed);
        var fold = new int[rows.Count];
        foreach (var stratum in Enumerable.Range(0, rows.Count).GroupBy(i => (rows[i].Arm, rows[i].Outcome)).OrderBy(g => g.Key))
        {
            var indices = stratum.ToArray();
            random.Shuffle(indices);
            for (var j = 0; j < indices.Length; j++)
            {
                fold[indices[j]] = j % folds;
            }
        }

        return fold;
    }

    private static RelativeLift FitRelative(MLContext ml, IReadOnlyList<UpliftRow> rows, IReadOnlyList<double> doses, int featureCount, UpliftLearnerOptions options, int seed)
    {
        var control = rows.Where(r => doses[r.Arm] == 0).Select(r => new LabelledRow { Features = r.Features, Label = r.Outcome }).ToList();
        var treated = rows.Where(r => doses[r.Arm] > 0).ToList();
        if (control.Count == 0 || treated.Count == 0 || control.All(r => r.Label) || control.All(r => !r.Label))
        {
            throw new InvalidOperationException($"The relative learner needs control rows with both outcomes and treated rows; it has {control.Count} and {treated.Count}.");
        }

        // Fitted on the control rows only, so its predictions on the treated rows are out of sample.
        var baseline = FitClassifier(ml, control, featureCount, options, seed);
        if (options.LinearLift)
        {
            return new RelativeLift(baseline, null, MultiplicativeLift.Train(rows, doses, options.LiftColumns ?? Enumerable.Range(0, featureCount).ToArray(), options.LinearPenalty), doses);
        }

        var p0 = Probabilities(ml, baseline, featureCount, treated.Select(r => r.Features).ToList());
        var effectRows = treated.Select((r, i) =>
        {
            var dose = doses[r.Arm];
            // Floored so a near-zero baseline cannot turn one purchase into an unbounded target.
            var p = Math.Max(p0[i], 0.005);
            return new EffectRow { Features = r.Features, Label = (float)((B(r.Outcome) - p) / (p * dose)), Weight = (float)(p * dose * p * dose) };
        });
        return new RelativeLift(baseline, FitEffect(ml, effectRows, featureCount, options, seed), null, doses);
    }

    private double[][] PredictRelative(RelativeLift model, IReadOnlyList<float[]> features)
    {
        if (features.Count == 0)
        {
            return [];
        }

        var p0 = Column(model.Baseline, features, ProbabilityColumn);
        var lift = model.LinearLift is { } linear
            ? features.Select(f => (float)linear.Lift(f)).ToArray()
            : Column(model.Lift!, features, ScoreColumn);
        return features.Select((_, row) => model.Doses.Select(dose => Math.Clamp(p0[row] * (1 + Math.Max(0, lift[row]) * dose), 0, 1)).ToArray()).ToArray();
    }

    /// <summary>
    /// p(outcome | x, arm) for every row and arm: result[row][arm]. For the X-learner, arm a is p_0(x) plus the
    /// effect estimate, blended from both second-stage models as Künzel et al. weight them, and clipped to [0, 1].
    /// </summary>
    public double[][] Predict(IReadOnlyList<float[]> features)
    {
        if (relative is not null)
        {
            return PredictRelative(relative, features);
        }

        var result = features.Select(_ => new double[arms.Length]).ToArray();
        if (features.Count == 0)
        {
            return result;
        }

        for (var arm = 0; arm < arms.Length; arm++)
        {
            var probabilities = Column(arms[arm], features, ProbabilityColumn);
            for (var row = 0; row < probabilities.Length; row++)
            {
                result[row][arm] = probabilities[row];
            }
        }

        for (var arm = 1; arm < arms.Length; arm++)
        {
            if (effects[arm] is not { } effect)
            {
                continue;
            }

            var onTreated = Column(effect.OnTreated, features, ScoreColumn);
            var onControl = Column(effect.OnControl, features, ScoreColumn);
            for (var row = 0; row < features.Count; row++)
            {
                // The control-fitted effect model gets the treated share as weight, and the other the rest.
                var uplift = effect.TreatedShare * onControl[row] + (1 - effect.TreatedShare) * onTreated[row];
                result[row][arm] = Math.Clamp(result[row][0] + uplift, 0, 1);
            }
        }

        return result;
    }

    private const string ProbabilityColumn = "Probability";
    private const string ScoreColumn = "Score";

    /// <summary>Above this many rows a prediction goes through the bulk pipeline; at or below it, through kept engines.</summary>
    private const int EngineRows = 64;

    /// <summary>
    /// One output column of <paramref name="model"/> for each row. A quote asks about a few rows at a time, and building
    /// a data view and running the pipeline over it cost more than the trees: such batches go through prediction
    /// engines kept per model (an engine serves one caller at a time, so each model keeps as many as were in use at
    /// once). Both paths run the same trees and give the same numbers.
    /// </summary>
    private float[] Column(ITransformer model, IReadOnlyList<float[]> features, string column)
    {
        if (features.Count > EngineRows)
        {
            return model.Transform(Unlabelled(ml, features, featureCount)).GetColumn<float>(column).ToArray();
        }

        return column == ProbabilityColumn
            ? Predict<ProbabilityRow>(model, features, row => row.Probability)
            : Predict<ScoreRow>(model, features, row => row.Score);
    }

    private float[] Predict<TOutput>(ITransformer model, IReadOnlyList<float[]> features, Func<TOutput, float> read)
        where TOutput : class, new()
    {
        var kept = engines.GetOrAdd((model, typeof(TOutput)), _ => []);
        var engine = kept.TryTake(out var idle)
            ? (PredictionEngine<UnlabelledRow, TOutput>)idle
            : ml.Model.CreatePredictionEngine<UnlabelledRow, TOutput>(model, ignoreMissingColumns: true, inputSchemaDefinition: Schema<UnlabelledRow>(featureCount));
        try
        {
            var output = new TOutput();
            var values = new float[features.Count];
            for (var row = 0; row < features.Count; row++)
            {
                engine.Predict(new UnlabelledRow { Features = features[row] }, ref output);
                values[row] = read(output);
            }

            return values;
        }
        finally
        {
            kept.Add(engine);
        }
    }

    private static ITransformer FitClassifier(MLContext ml, List<LabelledRow> rows, int featureCount, UpliftLearnerOptions options, int seed) =>
        ml.BinaryClassification.Trainers.LightGbm(new LightGbmBinaryTrainer.Options
        {
            NumberOfLeaves = options.Leaves,
            NumberOfIterations = options.Iterations,
            LearningRate = options.LearningRate,
            MinimumExampleCountPerLeaf = options.MinimumRowsPerLeaf,
            L2CategoricalRegularization = options.L2Regularisation,
            Seed = seed,
            NumberOfThreads = 1,
            Silent = true,
            Verbose = false,
        }).Fit(ml.Data.LoadFromEnumerable(rows, Schema<LabelledRow>(featureCount)));

    private static float[] Probabilities(MLContext ml, ITransformer model, int featureCount, IReadOnlyList<float[]> features) =>
        model.Transform(Unlabelled(ml, features, featureCount)).GetColumn<float>("Probability").ToArray();

    private static double[][] PredictArms(MLContext ml, ITransformer[] models, int featureCount, IReadOnlyList<float[]> features)
    {
        var result = features.Select(_ => new double[models.Length]).ToArray();
        if (features.Count == 0)
        {
            return result;
        }

        var data = Unlabelled(ml, features, featureCount);
        for (var arm = 0; arm < models.Length; arm++)
        {
            var probabilities = models[arm].Transform(data).GetColumn<float>("Probability").ToArray();
            for (var row = 0; row < probabilities.Length; row++)
            {
                result[row][arm] = probabilities[row];
            }
        }

        return result;
    }

    private static ITransformer FitEffect(MLContext ml, IEnumerable<EffectRow> rows, int featureCount, UpliftLearnerOptions options, int seed) =>
        ml.Regression.Trainers.LightGbm(new LightGbmRegressionTrainer.Options
        {
            ExampleWeightColumnName = nameof(EffectRow.Weight),
            NumberOfLeaves = options.Leaves,
            NumberOfIterations = options.Iterations,
            LearningRate = options.LearningRate,
            MinimumExampleCountPerLeaf = options.MinimumRowsPerLeaf,
            Seed = seed,
            NumberOfThreads = 1,
            Silent = true,
            Verbose = false,
        }).Fit(ml.Data.LoadFromEnumerable(rows.ToList(), Schema<EffectRow>(featureCount)));

    private static IDataView Unlabelled(MLContext ml, IReadOnlyList<float[]> features, int featureCount) =>
        ml.Data.LoadFromEnumerable(features.Select(f => new UnlabelledRow { Features = f }), Schema<UnlabelledRow>(featureCount));

    private static double B(bool value) => value ? 1 : 0;

    private static SchemaDefinition Schema<T>(int featureCount)
    {
        var schema = SchemaDefinition.Create(typeof(T));
        schema[nameof(UnlabelledRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, featureCount);
        return schema;
    }

    private sealed class LabelledRow
    {
        public float[] Features { get; set; } = [];
        public bool Label { get; set; }
    }

    private sealed class EffectRow
    {
        public float[] Features { get; set; } = [];
        public float Label { get; set; }
        public float Weight { get; set; } = 1;
    }

    private sealed class UnlabelledRow
    {
        public float[] Features { get; set; } = [];
    }

    private sealed class ProbabilityRow
    {
        public float Probability { get; set; }
    }

    private sealed class ScoreRow
    {
        public float Score { get; set; }
    }
}

/// <summary>One logged decision: what was known, which arm was given, and whether the outcome happened.</summary>
public sealed record UpliftRow(float[] Features, int Arm, bool Outcome);
