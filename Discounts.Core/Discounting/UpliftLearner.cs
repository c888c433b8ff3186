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
    public int Leaves { get; init; } = 4;
    public int Iterations { get; init; } = 100;
    public double LearningRate { get; init; } = 0.05;
    public int MinimumRowsPerLeaf { get; init; } = 700;
    public double L2Regularisation { get; init; } = 1.0;
}

/// <summary>
/// A T-learner: one gradient-boosted classifier (ML.NET LightGBM) per treatment arm, each fitted only on the rows that
/// received that arm. The uplift of arm a over arm 0 for a row is p_a(x) − p_0(x). Arms are discount levels in the
/// product and e-mail versus none in the Hillstrom evaluation.
/// </summary>
public sealed class UpliftLearner
{
    private readonly MLContext ml;
    private readonly ITransformer[] arms;
    private readonly int featureCount;

    private UpliftLearner(MLContext ml, ITransformer[] arms, int featureCount)
    {
        this.ml = ml;
        this.arms = arms;
        this.featureCount = featureCount;
    }

    public int ArmCount => arms.Length;

    public static UpliftLearner Fit(IReadOnlyList<UpliftRow> rows, int armCount, UpliftLearnerOptions options, int seed)
    {
        if (rows.Count == 0)
        {
            throw new ArgumentException("No training rows.", nameof(rows));
        }

        var featureCount = rows[0].Features.Length;
        var ml = new MLContext(seed);
        var models = new ITransformer[armCount];
        for (var arm = 0; arm < armCount; arm++)
        {
            var armRows = rows.Where(r => r.Arm == arm).Select(r => new LabelledRow { Features = r.Features, Label = r.Outcome }).ToList();
            if (armRows.Count == 0 || armRows.All(r => r.Label) || armRows.All(r => !r.Label))
            {
                throw new InvalidOperationException($"Arm {arm} needs rows with both outcomes to be learned; it has {armRows.Count} rows.");
            }

            var data = ml.Data.LoadFromEnumerable(armRows, Schema<LabelledRow>(featureCount));
            var trainer = ml.BinaryClassification.Trainers.LightGbm(new LightGbmBinaryTrainer.Options
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
            });
            models[arm] = trainer.Fit(data);
        }

        return new UpliftLearner(ml, models, featureCount);
    }

    /// <summary>p(outcome | x, arm) for every row and arm: result[row][arm].</summary>
    public double[][] Predict(IReadOnlyList<float[]> features)
    {
        var result = features.Select(_ => new double[arms.Length]).ToArray();
        if (features.Count == 0)
        {
            return result;
        }

        var data = ml.Data.LoadFromEnumerable(features.Select(f => new UnlabelledRow { Features = f }), Schema<UnlabelledRow>(featureCount));
        for (var arm = 0; arm < arms.Length; arm++)
        {
            var probabilities = arms[arm].Transform(data).GetColumn<float>("Probability").ToArray();
            for (var row = 0; row < probabilities.Length; row++)
            {
                result[row][arm] = probabilities[row];
            }
        }

        return result;
    }

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

    private sealed class UnlabelledRow
    {
        public float[] Features { get; set; } = [];
    }
}

/// <summary>One logged decision: what was known, which arm was given, and whether the outcome happened.</summary>
public sealed record UpliftRow(float[] Features, int Arm, bool Outcome);
