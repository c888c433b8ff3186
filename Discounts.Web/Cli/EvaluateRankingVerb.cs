using System.Diagnostics;
using System.Text.Json;
using Discounts.Core.Evaluation;
using Discounts.Core.Recommending;
using Discounts.Core.Scoring;
using Discounts.Training.Scorer;
using TorchSharp;

namespace Discounts.Web.Cli;

/// <summary>
/// `evaluate-ranking --format s3rec|unisrec --input PATH [--max-minutes M] [--scorer none|base|fine-tuned]
/// [--vectors-cache FILE] [--data-dir DIR]`: replays the shop's own ranking engine (<see cref="SequenceReplay"/>) on a
/// leave-one-out data set. The index is built from the training sequences, the blend is chosen and fitted by the
/// shop's fitter on the validation targets, then the index is rebuilt from everything before the test targets and
/// every test target is ranked. When the data has item texts (unisrec), the sequence scorer (<see cref="SequenceScorer"/>)
/// reads them: `base` as the pretrained encoder gives them, `fine-tuned` (the default) after contrastive training on the
/// training sequences; its nearest items and its score join the engine as the embedding source and the scorer feature,
/// and a second blend is fitted with them. Prints one JSON line on stdout (progress on stderr): the served blend's
/// metrics at the top level, "blendWithoutScorer", each source alone under "sources" (with "scorer", "scorerBase" and
/// "text"), and which serving rules were on. s3rec has no texts, so the scorer is skipped and "scorer" says why.
/// For unisrec, PATH is the directory holding `Scientific.*` (or `--name` names another prefix).
/// </summary>
public static class EvaluateRankingVerb
{
    private const int BlendFitUsers = 5_000;

    public static int Run(IReadOnlyList<string> args)
    {
        var options = CliArguments.Parse(args, "format", "input", "name", "max-minutes", "scorer", "vectors-cache", "data-dir",
            "scorer-epochs", "scorer-negatives", "scorer-item-ids", "scorer-dropout", "scorer-weight-decay", "scorer-members", "scorer-fit-only");
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
        var scorerMode = options.Optional("scorer", "fine-tuned");
        if (scorerMode is not ("none" or "base" or "fine-tuned"))
        {
            throw new CliException("--scorer must be 'none', 'base' or 'fine-tuned'.");
        }

        string? scorerSkipped = null;
        if (scorerMode != "none" && data.ItemTexts is null)
        {
            scorerSkipped = $"the {format} data set has no item texts, so there is nothing for the language model to read";
            scorerMode = "none";
        }

        Console.Error.WriteLine($"{data.Name}: {data.Users.Count} users, {data.ItemCount} items, {data.InteractionCount} interactions; scorer {scorerMode}");

        // The shop's own settings: the engine replayed is the one that serves.
        var engine = new RecommendationOptions();
        var perSource = engine.CandidatesPerSource;
        var order = LeaveOneOutEvaluation.DeterministicUserOrder(data.Users.Count);
        var fitUsers = order.Take(BlendFitCount(data)).Select(u => (data.Users[u].ValidHistory, data.Users[u].ValidTarget)).ToList();
        var output = new Dictionary<string, object> { ["dataset"] = data.Name };

        var (scorer, fit) = scorerMode == "none" ? (null, null) : Scorer(data, scorerMode, options, output, maxMinutes);
        using var validationScorer = scorer;
        if (scorer is not null && options.Optional("scorer-fit-only", "false") == "true")
        {
            Console.WriteLine(JsonSerializer.Serialize(output));
            return 0;
        }

        var matrix = scorer is null ? null : Matrix(scorer, scorerMode);
        var validationIndex = SequenceReplay.Index(data, data.Users.Select(u => u.Train).ToArray(), engine);
        var (blendWithout, reportWithout) = FitBlend(validationIndex, fitUsers, perSource, null, "without the scorer", started);
        var (blend, report) = matrix is null
            ? (blendWithout, reportWithout)
            : FitBlend(validationIndex, fitUsers, perSource, new ReplayScorer(matrix, scorer!.UserVectors(fitUsers.Select(u => u.ValidHistory).ToArray())), "with the scorer", started);

        // The test ranking reads everything before the test targets, the validation targets included: the index is
        // rebuilt from those histories, and a fine-tuned scorer is refitted on them for the epochs validation chose.
        var testIndex = SequenceReplay.Index(data, data.Users.Select(u => u.TestHistory).ToArray(), engine);
        using var refitted = fit is not null && fit.KeptEpochs.Any(epoch => epoch > 0) ? Refit(data, scorer!, fit.KeptEpochs, output) : null;
        var testScorer = refitted ?? scorer;
        var testMatrix = refitted is null ? matrix : Matrix(refitted, scorerMode);
        using var untrained = scorer is null ? null : new SequenceScorer(scorer.TextVectors, scorer.Hidden, torch.CPU, SequenceFitOptions.ZeroShot);
        var plainModels = new List<(string Name, BlendModel Model)> { ("blend", blendWithout) };
        plainModels.AddRange(CandidateSource.All.Select(source => (source.Name, Alone(source.Feature))));
        var scorerModels = new List<(string Name, BlendModel Model)> { ("blend", blend) };

        // Time the engine on a first slice of the fixed user order, then evaluate the largest prefix of that order
        // that fits the time left, so a bounded run is repeatable and says how many users it covered.
        var probe = order.Take(Math.Min(1_000, order.Length)).ToArray();
        var probeStarted = Stopwatch.GetTimestamp();
        Evaluate(data, testIndex, probe, plainModels, scorerModels, testScorer, testMatrix, untrained, perSource);
        var secondsPerUser = Stopwatch.GetElapsedTime(probeStarted).TotalSeconds / probe.Length;
        var secondsLeft = (maxMinutes * 60) - Stopwatch.GetElapsedTime(started).TotalSeconds;
        var affordable = (int)Math.Max(probe.Length, secondsLeft * 0.9 / secondsPerUser);
        var evaluatedPositions = affordable >= order.Length ? Enumerable.Range(0, data.Users.Count).ToArray() : order.Take(affordable / 1_000 * 1_000).ToArray();
        Console.Error.WriteLine(evaluatedPositions.Length == data.Users.Count
            ? "evaluating every user"
            : $"--max-minutes {maxMinutes}: evaluating a fixed subset of {evaluatedPositions.Length} users");
        var ranks = Evaluate(data, testIndex, evaluatedPositions, plainModels, scorerModels, testScorer, testMatrix, untrained, perSource);

        output["users"] = evaluatedPositions.Length;
        output["allUsers"] = data.Users.Count;
        output["subset"] = evaluatedPositions.Length != data.Users.Count;
        output["items"] = data.ItemCount;
        var metricName = format == "s3rec" ? "hr" : "recall";
        var sources = new Dictionary<string, object>();
        foreach (var (name, userRanks) in ranks)
        {
            var values = Metrics(userRanks, cutoffs, metricName);
            Console.Error.WriteLine($"{name}: {string.Join(", ", values.Select(v => $"{v.Key} {v.Value:F4}"))}");
            if (name == "blend")
            {
                foreach (var (key, value) in values)
                {
                    output[key] = value;
                }

                // Without a scorer the served blend is the blend without it.
                output.TryAdd("blendWithoutScorer", values);
            }
            else if (name == "blendWithoutScorer")
            {
                output[name] = values;
            }
            else
            {
                sources[name] = values;
            }
        }

        // "text" is the TF-IDF text source over the user's last five items, the text baseline the scorer is held to.
        if (data.ItemTexts is not null && sources.TryGetValue(RecommendationFeatures.TextLast5, out var text))
        {
            sources["text"] = text;
        }

        output["model"] = report.Selected;
        output["blendWeights"] = blend.Named().Where(w => w.Value != 0).ToDictionary(w => w.Key, w => Math.Round(w.Value, 4));
        output["blendUsesScorer"] = blend.Weights[RecommendationFeatures.ScorerIndex] != 0 || blend.Weights[RecommendationFeatures.EmbeddingIndex] != 0;
        output["sources"] = sources;
        output["rules"] = SequenceReplay.Rules(scorer is not null);
        output["scorer"] = scorerSkipped is null ? scorerMode : $"none: {scorerSkipped}";
        output["candidatesPerSource"] = perSource;
        output["minutes"] = Math.Round(Stopwatch.GetElapsedTime(started).TotalMinutes, 2);
        Console.WriteLine(JsonSerializer.Serialize(output));
        return 0;
    }

    /// <summary>
    /// The blend is fitted on the validation targets of the first users in the fixed order; the scorer's epoch is
    /// chosen on the others', so the two choices never see the same targets.
    /// </summary>
    private static int BlendFitCount(SequenceDataset data) => Math.Min(BlendFitUsers, data.Users.Count * 3 / 5);

    private static BlendModel Alone(int feature) => new(RecommendationFeatures.Names[feature], "none", BlendRanking.Alone(feature), 0);

    /// <summary>
    /// The scorer over the base encoder's vectors of the item texts; with `fine-tuned` it is trained on the training
    /// sequences, and the validation targets of users outside the blend's fit pick the epoch kept.
    /// </summary>
    private static (SequenceScorer, SequenceEnsembleFit?) Scorer(SequenceDataset data, string scorerMode, CliArguments options, Dictionary<string, object> output, double maxMinutes)
    {
        var started = Stopwatch.GetTimestamp();
        var (vectors, dimension) = TextVectorCache.Embed(data.ItemTexts!, options.Optional("vectors-cache", ""), options.Optional("data-dir", CliArguments.RepositoryDataDirectory()));
        Console.Error.WriteLine($"item texts embedded (or read) in {Stopwatch.GetElapsedTime(started).TotalSeconds:F0} s");
        var defaults = new SequenceFitOptions();
        var fitOptions = defaults with
        {
            Epochs = options.Int("scorer-epochs", defaults.Epochs, 1, 1_000),
            UniformNegatives = options.Int("scorer-negatives", defaults.UniformNegatives, 0, 1_000_000),
            Dropout = options.Double("scorer-dropout", defaults.Dropout, 0, 0.9),
            WeightDecay = options.Double("scorer-weight-decay", defaults.WeightDecay, 0, 10),
            ItemIds = options.Optional("scorer-item-ids", defaults.ItemIds ? "true" : "false") == "true",
            Members = options.Int("scorer-members", defaults.Members, 1, 16),
            MaxMinutes = Math.Min(20, maxMinutes * 0.25),
        };
        var scorer = new SequenceScorer(vectors, dimension, torch.CPU, scorerMode == "fine-tuned" ? fitOptions : SequenceFitOptions.ZeroShot);
        var order = LeaveOneOutEvaluation.DeterministicUserOrder(data.Users.Count);
        var validation = order.Skip(BlendFitCount(data)).Select(u => (data.Users[u].ValidHistory, data.Users[u].ValidTarget)).ToList();
        output["scorerBaseValidationNdcg@10"] = Math.Round(scorer.ValidationNdcg(validation), 4);
        if (scorerMode != "fine-tuned")
        {
            return (scorer, null);
        }

        output["scorerOptions"] = fitOptions;
        var fit = scorer.Fit(data.Users.Select(u => u.Train).ToArray(), validation, Console.Error.WriteLine);
        output["scorerFit"] = fit;
        return (scorer, fit);
    }

    private static SequenceScorer Refit(SequenceDataset data, SequenceScorer fitted, IReadOnlyList<int> epochs, Dictionary<string, object> output)
    {
        var refitted = new SequenceScorer(fitted.TextVectors, fitted.Hidden, torch.CPU, fitted.Options);
        output["scorerRefit"] = refitted.Fit(data.Users.Select(u => u.TestHistory).ToArray(), [], Console.Error.WriteLine, stopAfterEpochs: epochs).Members;
        return refitted;
    }

    private static ItemMatrix Matrix(SequenceScorer scorer, string name) =>
        new(new ScorerVersion(null, name, ""), scorer.ItemVectors(), Enumerable.Repeat(true, scorer.ItemCount).ToArray(), scorer.Dimension, scorer.SimilarityScale);

    private static (BlendModel Blend, BlendFitReport Report) FitBlend(CatalogueIndex index, List<(int[] ValidHistory, int ValidTarget)> users, int perSource, ReplayScorer? scorer, string label, long started)
    {
        var groups = SequenceReplay.Groups(index, users, perSource, scorer);
        Console.Error.WriteLine($"validation candidates {label}: {groups.Sum(g => g.Labels.Count)} for {groups.Count} users, target proposed for {groups.Count(g => g.Labels.Contains(true))}");
        var (blend, report) = LogisticBlendFitter.Fit("offline", "none", groups);
        Console.Error.WriteLine($"blend {label}: {report.Selected} (held-out half: {report.HeldOutSelected}, HR@10 {report.HeldOutHitRateAt10:F4}, NDCG@10 {report.HeldOutNdcgAt10:F4}); {Stopwatch.GetElapsedTime(started).TotalSeconds:F1} s in");
        return (blend, report);
    }

    /// <summary>
    /// Each model's target ranks for the users at <paramref name="positions"/>. Models without the scorer rank the
    /// candidates the engine proposes without it, so "blendWithoutScorer" and each source alone are exactly what a
    /// scorer-less run gives; with a scorer, its blend and its own source rank the candidates it adds to, and the
    /// scorer alone ranks every item, as do the base scorer's vectors.
    /// </summary>
    private static List<(string Name, int[] Ranks)> Evaluate(
        SequenceDataset data, CatalogueIndex index, int[] positions, List<(string Name, BlendModel Model)> plainModels,
        List<(string Name, BlendModel Model)> scorerModels, SequenceScorer? scorer, ItemMatrix? matrix, SequenceScorer? untrained, int perSource)
    {
        var users = positions.Select(u => (data.Users[u].TestHistory, data.Users[u].TestTarget)).ToList();
        var plain = SequenceReplay.Ranks(index, plainModels.Select(m => m.Model).ToList(), users, perSource);
        var result = plainModels.Select((m, i) => (m.Name, plain[i])).ToList();
        if (scorer is null || matrix is null || untrained is null)
        {
            return result;
        }

        var userVectors = scorer.UserVectors(users.Select(u => u.TestHistory).ToArray());
        var withScorer = SequenceReplay.Ranks(index, scorerModels.Select(m => m.Model).ToList(), users, perSource, new ReplayScorer(matrix, userVectors));
        result[0] = ("blendWithoutScorer", plain[0]);
        result.Insert(0, ("blend", withScorer[0]));
        result.Add(("scorer", SequenceScorer.FullRanks(userVectors, matrix.Vectors, scorer.Dimension, users)));
        result.Add(("scorerBase", SequenceScorer.FullRanks(untrained.UserVectors(users.Select(u => u.TestHistory).ToArray()), untrained.ItemVectors(), scorer.Hidden, users)));
        return result;
    }

    private static Dictionary<string, double> Metrics(int[] ranks, int[] cutoffs, string metricName)
    {
        var metrics = new RankingMetricsAccumulator(cutoffs);
        foreach (var rank in ranks)
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

        return values;
    }
}
