using System.Diagnostics;
using System.Text.Json;
using Discounts.Core.Discounting;
using Discounts.Core.Evaluation;

namespace Discounts.Web.Cli;

/// <summary>
/// `evaluate-uplift --format hillstrom --input PATH [--treatment "Womens E-Mail"] [--outcome visit] [--seeds 10]`:
/// fits the product's uplift learner on stratified halves of a randomised experiment and prints one JSON line of
/// metrics on stdout (progress goes to stderr).
/// </summary>
public static class EvaluateUpliftVerb
{
    public static int Run(IReadOnlyList<string> args)
    {
        var options = CliArguments.Parse(args, "format", "input", "treatment", "outcome", "seeds", "leaves", "iterations", "learning-rate", "min-leaf", "learner");
        var format = options.Optional("format", "hillstrom");
        if (format != "hillstrom")
        {
            throw new CliException("--format must be 'hillstrom'.");
        }

        var input = options.Required("input");
        if (!File.Exists(input))
        {
            throw new CliException($"--input: no file at '{input}'.");
        }

        var treatment = options.Optional("treatment", "Womens E-Mail");
        var outcome = options.Optional("outcome", "visit");
        if (outcome is not ("visit" or "conversion"))
        {
            throw new CliException("--outcome must be 'visit' or 'conversion'.");
        }

        var seeds = options.Int("seeds", 10, 1, 100);
        var started = Stopwatch.GetTimestamp();
        var rows = Hillstrom.Load(input, treatment, outcome);
        Console.Error.WriteLine($"{rows.Count} rows ({rows.Count(r => r.Arm == 1)} '{treatment}', {rows.Count(r => r.Arm == 0)} control), outcome {outcome}");
        // The product's learner (DiscountingOptions.Learner) unless another is asked for, so the default run measures
        // what quotes use; --leaves and the like only shape a single learner, not the candidates a selection tries.
        var defaults = new DiscountingOptions().Learner;
        var learnerOptions = defaults with
        {
            Kind = options.Optional("learner", "product") switch
            {
                "product" => defaults.Kind,
                "selected" => UpliftLearnerKind.Selected,
                "x" => UpliftLearnerKind.XLearner,
                "t" => UpliftLearnerKind.TLearner,
                "relative" => UpliftLearnerKind.Relative,
                _ => throw new CliException("--learner must be 'product', 'selected', 'x', 't' or 'relative'."),
            },
            Leaves = options.Int("leaves", defaults.Leaves, 2, 1024),
            Iterations = options.Int("iterations", defaults.Iterations, 1, 10_000),
            LearningRate = options.Double("learning-rate", defaults.LearningRate, 1e-4, 1),
            MinimumRowsPerLeaf = options.Int("min-leaf", defaults.MinimumRowsPerLeaf, 1, 100_000),
        };
        var result = UpliftEvaluation.Run(rows, seeds, learnerOptions, Console.Error.WriteLine);
        Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["dataset"] = "hillstrom",
            ["treatment"] = treatment,
            ["outcome"] = outcome,
            ["learner"] = $"{learnerOptions.Kind}/lightgbm",
            ["chosen"] = result.Chosen ?? new Dictionary<string, int>(),
            ["options"] = learnerOptions,
            ["rows"] = result.Rows,
            ["qini"] = Rounded(result.Qini),
            ["auuc"] = Rounded(result.Auuc),
            ["uplift@30"] = Rounded(result.UpliftAt30),
            ["seeds"] = result.Seeds,
            ["minutes"] = Math.Round(Stopwatch.GetElapsedTime(started).TotalMinutes, 2),
        }, JsonOptions));
        return 0;
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } };

    private static object Rounded(MeanSd value) => new { mean = Math.Round(value.Mean, 4), sd = Math.Round(value.Sd, 4) };
}
