using System.Diagnostics;
using Discounts.Training.Bert;
using Discounts.Training.Tokenization;
using Discounts.Training.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace Discounts.Training.Benchmarks;

public sealed record BertBenchmarkOptions
{
    public int BatchSize { get; init; } = 32;
    public int SequenceLength { get; init; } = 64;
    public int Threads { get; init; } = 2;
    public int WarmupRuns { get; init; } = 3;
    public int InferenceRuns { get; init; } = 15;
    public int FineTuneSteps { get; init; } = 5;
    public int MatmulSize { get; init; } = 2048;
    public int MatmulRuns { get; init; } = 5;
    public string OpenMpWaitPolicy { get; init; } = "passive";
    public required string DataDirectory { get; init; }
}

public sealed record BertBenchmarkResult(
    int BatchSize, int SequenceLength, int Threads, string LibTorchVersion,
    double OnnxRuntimeMedianMs, double TorchSharpMedianMs, double TorchSharpToOnnxRatio,
    double FineTuneStepMedianMs, double FineTuneGflops, double FineTuneGflopsPerSecond,
    int MatmulSize, double MatmulGflopsPerSecond, double FineTuneShareOfMatmul, double ParityMaxAbsDiff,
    string LoadAverageAtStart, string OpenMpWaitPolicy);

/// <summary>
/// Times the base model (all-MiniLM-L6-v2) on one fixed batch: ONNX Runtime and the TorchSharp BERT side by
/// side (runs interleaved so both see the same machine load, and both waiting the same way: ONNX Runtime spins
/// only when OpenMP does), one fine-tuning step (forward, backward, AdamW,
/// two-label head over the pooled output), and a large float32 matmul as the machine's attainable GFLOP/s.
/// </summary>
public sealed class BertBenchmark(BertBenchmarkOptions options)
{
    public BertBenchmarkResult Run(Action<string>? progress = null)
    {
        progress ??= _ => { };
        // Other processes on a shared machine skew every figure; the load average records how busy it was.
        var loadAverage = File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
        var waitPolicy = Runtime.OpenMpWaitPolicy.Apply(options.OpenMpWaitPolicy);
        set_num_threads(options.Threads);
        var store = new BaseModelStore(options.DataDirectory);
        using var bert = store.Load();
        var batch = BuildBatch(bert.Tokenizer);
        progress($"model {bert.Folder} (sha256 {bert.WeightsSha256[..12]}), batch {batch.BatchSize}x{batch.SequenceLength}, {get_num_threads()} threads");

        using var onnx = new OnnxBertRunner(MiniLmPackage.FromOutputFolder().ReadOnnxModel(), options.Threads,
            allowSpinning: !string.Equals(waitPolicy, "PASSIVE", StringComparison.OrdinalIgnoreCase));
        var inference = new BertInference(bert);
        var parity = MaxAbsDiff(onnx.LastHiddenState(batch), inference.LastHiddenState(batch), batch, bert.Config.HiddenSize);

        using var inputs = batch.ToTensors();
        for (var i = 0; i < options.WarmupRuns; i++)
        {
            onnx.LastHiddenState(batch);
            TorchSharpForward(bert.Model, inputs);
        }
        var onnxTimes = new List<double>();
        var torchTimes = new List<double>();
        for (var i = 0; i < options.InferenceRuns; i++)
        {
            onnxTimes.Add(Time(() => onnx.LastHiddenState(batch)));
            torchTimes.Add(Time(() => TorchSharpForward(bert.Model, inputs)));
        }
        var onnxMedian = Median(onnxTimes);
        var torchMedian = Median(torchTimes);
        progress($"inference: ONNX Runtime {onnxMedian:F1} ms, TorchSharp {torchMedian:F1} ms");

        var (stepMedian, stepGflops) = FineTuneStep(store, batch);
        var matmulGflopsPerSecond = MatmulGflopsPerSecond();
        var stepGflopsPerSecond = stepGflops / (stepMedian / 1000.0);
        return new BertBenchmarkResult(
            batch.BatchSize, batch.SequenceLength, get_num_threads(), __version__,
            Round(onnxMedian), Round(torchMedian), Math.Round(torchMedian / onnxMedian, 3),
            Round(stepMedian), Round(stepGflops), Round(stepGflopsPerSecond),
            options.MatmulSize, Round(matmulGflopsPerSecond), Math.Round(stepGflopsPerSecond / matmulGflopsPerSecond, 3),
            parity, loadAverage, waitPolicy);
    }

    private TokenizedBatch BuildBatch(BertTextTokenizer tokenizer)
    {
        string[] words = ["wireless", "headphones", "with", "noise", "cancelling", "and", "a", "long", "battery", "life",
            "running", "shoes", "for", "trail", "road", "comfortable", "cheap", "discount", "customer", "review",
            "delivery", "was", "fast", "but", "the", "box", "arrived", "damaged", "would", "buy", "again", "great"];
        var random = new Random(42);
        var texts = Enumerable.Range(0, options.BatchSize)
            .Select(_ => string.Join(' ', Enumerable.Range(0, random.Next(options.SequenceLength / 2, options.SequenceLength * 2))
                .Select(_ => words[random.Next(words.Length)])))
            .ToList();
        return tokenizer.EncodeBatch(texts, options.SequenceLength, padToMaxLength: true);
    }

    private static void TorchSharpForward(BertModel model, BertInputs inputs)
    {
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var output = model.call(inputs.InputIds, inputs.AttentionMask, inputs.TokenTypeIds);
        // Reading one value forces the computation to finish, as copying the ONNX output does.
        _ = output.LastHiddenState[0, 0, 0].item<float>();
    }

    private (double MedianMs, double Gflops) FineTuneStep(BaseModelStore store, TokenizedBatch batch)
    {
        using var encoder = HuggingFaceBertFolder.Load(store.Folder);
        using var classifier = new BertForSequenceClassification(encoder.Model, labelCount: 2);
        classifier.train();
        using var optimizer = optim.AdamW(classifier.parameters(), lr: 2e-5);
        using var inputs = batch.ToTensors();
        using var labels = tensor(Enumerable.Range(0, batch.BatchSize).Select(i => (long)(i % 2)).ToArray());

        void Step()
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var logits = classifier.call(inputs.InputIds, inputs.AttentionMask, inputs.TokenTypeIds);
            var loss = nn.functional.cross_entropy(logits, labels);
            loss.backward();
            optimizer.step();
        }

        Step();
        var times = Enumerable.Range(0, options.FineTuneSteps).Select(_ => Time(Step)).ToList();
        return (Median(times), TrainingStepGflops(encoder.Config, batch.BatchSize, batch.SequenceLength));
    }

    /// <summary>
    /// Matmul FLOPs of one step: per token and layer 8H² (Q, K, V, output projections) + 4HI (feed-forward)
    /// + 4TH (scores and context), plus the pooler; backward costs about twice the forward.
    /// </summary>
    public static double TrainingStepGflops(BertConfig config, int batchSize, int sequenceLength)
    {
        double h = config.HiddenSize, ffn = config.IntermediateSize, t = sequenceLength;
        var perTokenPerLayer = (8 * h * h) + (4 * h * ffn) + (4 * t * h);
        var forward = (batchSize * t * config.NumHiddenLayers * perTokenPerLayer) + (batchSize * 2 * h * h);
        return 3 * forward / 1e9;
    }

    private double MatmulGflopsPerSecond() => MatmulGflopsPerSecond(options.MatmulSize, options.MatmulRuns);

    /// <summary>The machine's float32 matmul rate: the median of <paramref name="runs"/> square products of <paramref name="size"/>, after one warm-up.</summary>
    public static double MatmulGflopsPerSecond(int size, int runs)
    {
        using var a = randn(size, size);
        using var b = randn(size, size);
        void Multiply()
        {
            using var product = a.matmul(b);
            _ = product[0, 0].item<float>();
        }
        Multiply();
        var median = Median([.. Enumerable.Range(0, runs).Select(_ => Time(Multiply))]);
        return 2.0 * Math.Pow(size, 3) / (median / 1000.0) / 1e9;
    }

    private static double MaxAbsDiff(float[] expected, float[] actual, TokenizedBatch batch, int hidden)
    {
        var max = 0.0;
        for (var row = 0; row < batch.BatchSize; row++)
        {
            for (var position = 0; position < batch.SequenceLength; position++)
            {
                if (batch.IsPadding(row, position)) continue;
                var offset = ((row * batch.SequenceLength) + position) * hidden;
                for (var i = 0; i < hidden; i++) max = Math.Max(max, Math.Abs(expected[offset + i] - actual[offset + i]));
            }
        }
        return max;
    }

    private static double Time(Action action)
    {
        var watch = Stopwatch.StartNew();
        action();
        return watch.Elapsed.TotalMilliseconds;
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        var middle = values.Count / 2;
        return values.Count % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
    }

    private static double Round(double value) => Math.Round(value, 2);
}
