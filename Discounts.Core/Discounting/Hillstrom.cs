using System.Globalization;
using System.IO.Compression;
using Discounts.Core.Evaluation;

namespace Discounts.Core.Discounting;

/// <summary>
/// Kevin Hillstrom's randomised e-mail experiment (MineThatData, 2008). Features follow the published peer: recency,
/// history, mens, womens, newbie, zip_code and channel (one-hot); the arm is 1 for the chosen e-mail and 0 for none.
/// Rows of the third arm are dropped.
/// </summary>
public static class Hillstrom
{
    public const string Control = "No E-Mail";
    private static readonly string[] ZipCodes = ["Urban", "Surburban", "Rural"];
    private static readonly string[] Channels = ["Phone", "Web", "Multichannel"];

    public static IReadOnlyList<UpliftRow> Load(string path, string treatment, string outcome)
    {
        using var stream = File.OpenRead(path);
        using var reader = new StreamReader(path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(stream, CompressionMode.Decompress) : stream);
        var header = (reader.ReadLine() ?? throw new InvalidDataException("The file is empty.")).Split(',');
        int Column(string name) => Array.IndexOf(header, name) is var i and >= 0 ? i : throw new InvalidDataException($"Column '{name}' is missing.");
        var (recency, history, mens, womens, zip, newbie, channel, segment, target) =
            (Column("recency"), Column("history"), Column("mens"), Column("womens"), Column("zip_code"), Column("newbie"), Column("channel"), Column("segment"), Column(outcome));

        var rows = new List<UpliftRow>();
        while (reader.ReadLine() is { } line)
        {
            var cells = line.Split(',');
            if (cells[segment] != treatment && cells[segment] != Control)
            {
                continue;
            }

            float[] features =
            [
                Number(cells[recency]), Number(cells[history]), Number(cells[mens]), Number(cells[womens]), Number(cells[newbie]),
                .. ZipCodes.Select(z => cells[zip] == z ? 1f : 0f),
                .. Channels.Select(c => cells[channel] == c ? 1f : 0f),
            ];
            rows.Add(new UpliftRow(features, cells[segment] == treatment ? 1 : 0, Number(cells[target]) > 0));
        }

        if (rows.All(r => r.Arm == 0))
        {
            throw new InvalidDataException($"No row has the treatment '{treatment}'.");
        }

        return rows;
    }

    private static float Number(string cell) => float.Parse(cell, CultureInfo.InvariantCulture);
}

public sealed record MeanSd(double Mean, double Sd)
{
    public static MeanSd Of(IReadOnlyList<double> values)
    {
        var mean = values.Average();
        var sd = values.Count > 1 ? Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1)) : 0;
        return new MeanSd(mean, sd);
    }
}

/// <param name="Chosen">How often each learner was fitted: for a selection, the candidate each split's training half chose.</param>
public sealed record UpliftEvaluationResult(MeanSd Qini, MeanSd Auuc, MeanSd UpliftAt30, int Seeds, int Rows, IReadOnlyDictionary<string, int>? Chosen = null);

/// <summary>The published protocol: stratified 50/50 splits by (arm, outcome), fit on one half, score the other.</summary>
public static class UpliftEvaluation
{
    public static UpliftEvaluationResult Run(IReadOnlyList<UpliftRow> rows, int seeds, UpliftLearnerOptions options, Action<string>? progress = null)
    {
        var qini = new List<double>();
        var auuc = new List<double>();
        var at30 = new List<double>();
        var chosen = new SortedDictionary<string, int>();
        for (var seed = 0; seed < seeds; seed++)
        {
            var (train, test) = StratifiedHalves(rows, seed);
            var learner = UpliftLearner.Fit(train, armCount: 2, options, seed);
            chosen[learner.Chosen.ToString()] = chosen.GetValueOrDefault(learner.Chosen.ToString()) + 1;
            var predictions = learner.Predict(test.Select(r => r.Features).ToList());
            var uplift = predictions.Select(p => p[1] - p[0]).ToArray();
            var outcome = test.Select(r => r.Outcome).ToArray();
            var treated = test.Select(r => r.Arm == 1).ToArray();
            qini.Add(UpliftMetrics.QiniAuc(outcome, uplift, treated));
            auuc.Add(UpliftMetrics.UpliftAuc(outcome, uplift, treated));
            at30.Add(UpliftMetrics.UpliftAtK(outcome, uplift, treated, 0.3));
            progress?.Invoke($"seed {seed}: qini {qini[^1]:F4} auuc {auuc[^1]:F4} uplift@30 {at30[^1]:F4}; {learner.Chosen}"
                + (learner.CandidateScores.Count > 0 ? $" (out-of-fold Qini by candidate: {string.Join(", ", learner.CandidateScores.Select(q => q.ToString("F4")))})" : ""));
        }

        return new UpliftEvaluationResult(MeanSd.Of(qini), MeanSd.Of(auuc), MeanSd.Of(at30), seeds, rows.Count, chosen);
    }

    public static (List<UpliftRow> Train, List<UpliftRow> Test) StratifiedHalves(IReadOnlyList<UpliftRow> rows, int seed)
    {
        var random = new Random(seed);
        var train = new List<UpliftRow>();
        var test = new List<UpliftRow>();
        foreach (var stratum in rows.GroupBy(r => (r.Arm, r.Outcome)))
        {
            var shuffled = stratum.ToArray();
            random.Shuffle(shuffled);
            var half = shuffled.Length / 2;
            train.AddRange(shuffled[..half]);
            test.AddRange(shuffled[half..]);
        }

        return (train, test);
    }
}
