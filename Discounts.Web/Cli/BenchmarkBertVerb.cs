using System.Globalization;
using System.Text.Json;
using Discounts.Training.Benchmarks;

namespace Discounts.Web.Cli;

/// <summary>
/// <c>benchmark-bert [--batch 32] [--seq 64] [--threads 2] [--runs 15] [--steps 5] [--omp-wait passive|active]
/// [--data-dir DIR]</c>:
/// times the base model under ONNX Runtime and TorchSharp, one fine-tuning step and a large matmul; prints a
/// table, then one JSON line with the figures.
/// </summary>
public static class BenchmarkBertVerb
{
    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public static Task<int> RunAsync(string[] args)
    {
        BertBenchmarkOptions options;
        try
        {
            options = Parse(args);
        }
        catch (ArgumentException error)
        {
            Console.Error.WriteLine(error.Message);
            return Task.FromResult(2);
        }

        var result = new BertBenchmark(options).Run(message => Console.Error.WriteLine(message));
        var ci = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(ci, $"BERT benchmark: all-MiniLM-L6-v2, batch {result.BatchSize} x seq {result.SequenceLength}, {result.Threads} threads (OpenMP wait {result.OpenMpWaitPolicy}), libtorch {result.LibTorchVersion}, load average at start {result.LoadAverageAtStart}"));
        Console.WriteLine("| measure | value |");
        Console.WriteLine("|---|---|");
        Console.WriteLine(string.Create(ci, $"| ONNX Runtime inference, median | {result.OnnxRuntimeMedianMs:F1} ms |"));
        Console.WriteLine(string.Create(ci, $"| TorchSharp inference, median | {result.TorchSharpMedianMs:F1} ms |"));
        Console.WriteLine(string.Create(ci, $"| TorchSharp / ONNX Runtime | {result.TorchSharpToOnnxRatio:F2}x |"));
        Console.WriteLine(string.Create(ci, $"| parity, max abs diff (non-pad) | {result.ParityMaxAbsDiff:E2} |"));
        Console.WriteLine(string.Create(ci, $"| fine-tune step (fwd+bwd+AdamW), median | {result.FineTuneStepMedianMs:F1} ms |"));
        Console.WriteLine(string.Create(ci, $"| fine-tune step, achieved | {result.FineTuneGflopsPerSecond:F1} GFLOP/s ({result.FineTuneGflops:F1} GFLOP/step) |"));
        Console.WriteLine(string.Create(ci, $"| float32 matmul {result.MatmulSize}^3 | {result.MatmulGflopsPerSecond:F1} GFLOP/s |"));
        Console.WriteLine(string.Create(ci, $"| fine-tune share of matmul peak | {result.FineTuneShareOfMatmul:P0} |"));
        Console.WriteLine(JsonSerializer.Serialize(result, JsonOptions));
        return Task.FromResult(0);
    }

    private static BertBenchmarkOptions Parse(string[] args)
    {
        var options = new BertBenchmarkOptions
        {
            DataDirectory = Environment.GetEnvironmentVariable("Storage__DataDirectory") ?? CliArguments.RepositoryDataDirectory(),
        };
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            var value = i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{name} needs a value.");
            options = name switch
            {
                "--batch" => options with { BatchSize = Positive(name, value) },
                "--seq" => options with { SequenceLength = Positive(name, value) },
                "--threads" => options with { Threads = Positive(name, value) },
                "--runs" => options with { InferenceRuns = Positive(name, value) },
                "--steps" => options with { FineTuneSteps = Positive(name, value) },
                "--data-dir" => options with { DataDirectory = value },
                "--omp-wait" => options with { OpenMpWaitPolicy = value },
                _ => throw new ArgumentException($"Unknown option {name}. Options: --batch --seq --threads --runs --steps --omp-wait --data-dir."),
            };
        }
        return options;
    }

    private static int Positive(string name, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number > 0
            ? number
            : throw new ArgumentException($"{name} must be a positive integer, not '{value}'.");
}
