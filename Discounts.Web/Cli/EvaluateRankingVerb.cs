using System.Diagnostics;
using System.Text.Json;
using Discounts.Core.Evaluation;
using Discounts.Core.Ranking;

namespace Discounts.Web.Cli;

/// <summary>
/// `evaluate-ranking --format s3rec|unisrec --input PATH [--max-minutes M]`: trains the ranking models on the training
/// part of a leave-one-out data set, fits the blend on the validation targets, ranks every test target against all
/// items and prints one JSON line of metrics for the blend and the in-house baselines on stdout (progress on stderr).
/// For unisrec, PATH is the directory holding `Scientific.*` (or `--name` names another prefix).
/// </summary>
public static class EvaluateRankingVerb
{
    private const int BlendFitUsers = 5_000;

    /// <summary>`dotnet run --project` may start in the project folder, so a relative path that is not there is taken from the repository root.</summary>
    private static string FromRepositoryRoot(string path) =>
        Path.IsPathRooted(path) || File.Exists(path) || Directory.Exists(path) ? path : Path.GetFullPath(Path.Combine(Discounts.Core.Data.RepositoryRoot.Find(), path));

    public static int Run(IReadOnlyList<string> args)
    {
        var options = CliArguments.Parse(args, "format", "input", "name", "max-minutes");
        var format = options.Required("format");
        var input = FromRepositoryRoot(options.Required("input"));
        var maxMinutes = options.Double("max-minutes", 60, 0.1, 24 * 60);
        var started = Stopwatch.GetTimestamp();
        var (data, cutoffs) = format switch
        {
            "s3rec" when File.Exists(input) => (SequenceDatasets.LoadS3Rec(input), new[] { 5, 10 }),
            "unisrec" when Directory.Exists(input) => (SequenceDatasets.LoadUniSRec(input, options.Optional("name", "Scientific")), new[] { 10, 50 }),
            "s3rec" => throw new CliException($"--input: no file at '{input}'."),
            "unisrec" => throw new CliException($"--input: no directory at '{input}'."),
            _ => throw new CliException("--format must be 's3rec' or 'unisrec'."),
        };
        Console.Error.WriteLine($"{data.Name}: {data.Users.Count} users, {data.ItemCount} items, {data.InteractionCount} interactions");

        var order = LeaveOneOutEvaluation.DeterministicUserOrder(data.Users.Count);
        var fitUsers = order.Take(BlendFitUsers).Select(u => data.Users[u]).ToArray();
        var models = RankingPipeline.Train(data, cutoff: 10, fitUsers, Console.Error.WriteLine);
        Console.Error.WriteLine($"trained in {Stopwatch.GetElapsedTime(started).TotalSeconds:F1} s");

        // Time the models on a first slice of the fixed user order, then evaluate the largest prefix of that order
        // that fits the time left, so a bounded run is repeatable and says how many users it covered.
        var probe = order.Take(Math.Min(1_000, order.Length)).Select(u => data.Users[u]).ToArray();
        var probeStarted = Stopwatch.GetTimestamp();
        foreach (var model in models)
        {
            LeaveOneOutEvaluation.Ranks(model.Model, probe, LeaveOneOutTarget.Test);
        }

        var secondsPerUser = Stopwatch.GetElapsedTime(probeStarted).TotalSeconds / probe.Length;
        var secondsLeft = (maxMinutes * 60) - Stopwatch.GetElapsedTime(started).TotalSeconds;
        var affordable = (int)Math.Max(probe.Length, secondsLeft * 0.9 / secondsPerUser);
        var evaluated = affordable >= order.Length ? data.Users : order.Take(affordable / 1_000 * 1_000).Select(u => data.Users[u]).ToArray();
        Console.Error.WriteLine(evaluated.Count == data.Users.Count
            ? "evaluating every user"
            : $"--max-minutes {maxMinutes}: evaluating a fixed subset of {evaluated.Count} users");

        var output = new Dictionary<string, object>
        {
            ["dataset"] = data.Name,
            ["users"] = evaluated.Count,
            ["allUsers"] = data.Users.Count,
            ["subset"] = evaluated.Count != data.Users.Count,
            ["items"] = data.ItemCount,
        };
        var metricName = format == "s3rec" ? "hr" : "recall";
        foreach (var model in models)
        {
            var metrics = LeaveOneOutEvaluation.Evaluate(model.Model, evaluated, LeaveOneOutTarget.Test, cutoffs);
            var values = new Dictionary<string, double>();
            foreach (var k in cutoffs)
            {
                values[$"{metricName}@{k}"] = Math.Round(metrics.HitRate[k], 4);
            }

            foreach (var k in cutoffs)
            {
                values[$"ndcg@{k}"] = Math.Round(metrics.Ndcg[k], 4);
            }

            Console.Error.WriteLine($"{model.Name}: {string.Join(", ", values.Select(v => $"{v.Key} {v.Value:F4}"))}");
            if (model.IsBaseline)
            {
                output[model.Name] = values;
            }
            else
            {
                foreach (var (key, value) in values)
                {
                    output[key] = value;
                }

                output["model"] = model.Name;
                output["blendWeights"] = ((BlendedSource)model.Model).Sources.Select((s, i) => (s.Name, Weight: ((BlendedSource)model.Model).Weights[i]))
                    .ToDictionary(x => x.Name, x => Math.Round(x.Weight, 4));
            }
        }

        output["minutes"] = Math.Round(Stopwatch.GetElapsedTime(started).TotalMinutes, 2);
        Console.WriteLine(JsonSerializer.Serialize(output));
        return 0;
    }
}
