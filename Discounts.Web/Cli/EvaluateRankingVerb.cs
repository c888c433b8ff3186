using System.Diagnostics;
using System.Text.Json;
using Discounts.Core.Evaluation;
using Discounts.Core.Recommending;

namespace Discounts.Web.Cli;

/// <summary>
/// `evaluate-ranking --format s3rec|unisrec --input PATH [--max-minutes M]`: replays the shop's own ranking engine
/// (<see cref="SequenceReplay"/>) on a leave-one-out data set. The index is built from the training sequences, the
/// blend is chosen and fitted by the shop's fitter on the validation targets, then the index is rebuilt from everything
/// before the test targets and every test target is ranked. Prints one JSON line on stdout (progress on stderr): the
/// served blend's metrics at the top level, each source alone under "sources", and which serving rules were on.
/// For unisrec, PATH is the directory holding `Scientific.*` (or `--name` names another prefix).
/// </summary>
public static class EvaluateRankingVerb
{
    private const int BlendFitUsers = 5_000;

    public static int Run(IReadOnlyList<string> args)
    {
        var options = CliArguments.Parse(args, "format", "input", "name", "max-minutes");
        var format = options.Required("format");
        var input = CliArguments.FromRepositoryRoot(options.Required("input"));
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

        // The shop's own settings: the engine replayed is the one that serves.
        var engine = new RecommendationOptions();
        var perSource = engine.CandidatesPerSource;
        var order = LeaveOneOutEvaluation.DeterministicUserOrder(data.Users.Count);
        var validationIndex = SequenceReplay.Index(data, data.Users.Select(u => u.Train).ToArray(), engine);
        var fitUsers = order.Take(BlendFitUsers).Select(u => (data.Users[u].ValidHistory, data.Users[u].ValidTarget)).ToList();
        var groups = SequenceReplay.Groups(validationIndex, fitUsers, perSource);
        Console.Error.WriteLine($"validation candidates: {groups.Sum(g => g.Labels.Count)} for {groups.Count} users, target proposed for {groups.Count(g => g.Labels.Contains(true))}");
        var (blend, report) = LogisticBlendFitter.Fit("offline", "none", groups);
        Console.Error.WriteLine($"blend selected: {report.Selected} (held-out half: {report.HeldOutSelected}, HR@10 {report.HeldOutHitRateAt10:F4}, NDCG@10 {report.HeldOutNdcgAt10:F4}); fitted in {Stopwatch.GetElapsedTime(started).TotalSeconds:F1} s");

        var testIndex = SequenceReplay.Index(data, data.Users.Select(u => u.TestHistory).ToArray(), engine);
        var models = new List<(string Name, BlendModel Model)> { ("blend", blend) };
        models.AddRange(CandidateSource.All.Select(source =>
            (source.Name, new BlendModel(source.Name, "none", BlendRanking.Alone(source.Feature), 0))));

        // Time the engine on a first slice of the fixed user order, then evaluate the largest prefix of that order
        // that fits the time left, so a bounded run is repeatable and says how many users it covered.
        var probe = order.Take(Math.Min(1_000, order.Length)).Select(u => (data.Users[u].TestHistory, data.Users[u].TestTarget)).ToList();
        var probeStarted = Stopwatch.GetTimestamp();
        SequenceReplay.Ranks(testIndex, models.Select(m => m.Model).ToList(), probe, perSource);
        var secondsPerUser = Stopwatch.GetElapsedTime(probeStarted).TotalSeconds / probe.Count;
        var secondsLeft = (maxMinutes * 60) - Stopwatch.GetElapsedTime(started).TotalSeconds;
        var affordable = (int)Math.Max(probe.Count, secondsLeft * 0.9 / secondsPerUser);
        var evaluatedPositions = affordable >= order.Length ? Enumerable.Range(0, data.Users.Count).ToArray() : order.Take(affordable / 1_000 * 1_000).ToArray();
        Console.Error.WriteLine(evaluatedPositions.Length == data.Users.Count
            ? "evaluating every user"
            : $"--max-minutes {maxMinutes}: evaluating a fixed subset of {evaluatedPositions.Length} users");
        var evaluated = evaluatedPositions.Select(u => (data.Users[u].TestHistory, data.Users[u].TestTarget)).ToList();
        var ranks = SequenceReplay.Ranks(testIndex, models.Select(m => m.Model).ToList(), evaluated, perSource);

        var output = new Dictionary<string, object>
        {
            ["dataset"] = data.Name,
            ["users"] = evaluated.Count,
            ["allUsers"] = data.Users.Count,
            ["subset"] = evaluated.Count != data.Users.Count,
            ["items"] = data.ItemCount,
        };
        var metricName = format == "s3rec" ? "hr" : "recall";
        var sources = new Dictionary<string, object>();
        for (var m = 0; m < models.Count; m++)
        {
            var metrics = new RankingMetricsAccumulator(cutoffs);
            foreach (var rank in ranks[m])
            {
                metrics.Add(rank);
            }

            var result = metrics.Result();
            var values = new Dictionary<string, double>();
            foreach (var k in cutoffs)
            {
                values[$"{metricName}@{k}"] = Math.Round(result.HitRate[k], 4);
            }

            foreach (var k in cutoffs)
            {
                values[$"ndcg@{k}"] = Math.Round(result.Ndcg[k], 4);
            }

            Console.Error.WriteLine($"{models[m].Name}: {string.Join(", ", values.Select(v => $"{v.Key} {v.Value:F4}"))}");
            if (m == 0)
            {
                foreach (var (key, value) in values)
                {
                    output[key] = value;
                }
            }
            else
            {
                sources[models[m].Name] = values;
            }
        }

        output["model"] = report.Selected;
        output["blendWeights"] = blend.Named().Where(w => w.Value != 0).ToDictionary(w => w.Key, w => Math.Round(w.Value, 4));
        output["sources"] = sources;
        output["rules"] = SequenceReplay.Rules;
        output["candidatesPerSource"] = perSource;
        output["minutes"] = Math.Round(Stopwatch.GetElapsedTime(started).TotalMinutes, 2);
        Console.WriteLine(JsonSerializer.Serialize(output));
        return 0;
    }
}
