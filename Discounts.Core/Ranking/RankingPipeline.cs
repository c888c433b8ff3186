using Discounts.Core.Evaluation;

namespace Discounts.Core.Ranking;

/// <summary>A trained model with the role it plays in a comparison.</summary>
public sealed record NamedModel(string Name, CandidateSource Model, bool IsBaseline);

/// <summary>
/// Builds the ranking models: the in-house baselines, and a blend of several candidate sources. The blend's weights are
/// fitted with every source built from the training sequences (each user's items before the validation target) and
/// scored on the validation targets; then the sources are rebuilt from everything before the test target, as the
/// published protocol's models see it, and the fitted weights are kept. No test target is ever seen.
/// </summary>
public static class RankingPipeline
{
    public const string PopularityName = "popularity";
    public const string CoOccurrenceBaselineName = "cooccurrence-last3";
    public const string TunedCoOccurrenceName = "cooccurrence-tuned";
    public const string BlendName = "blend";

    /// <param name="fitUsers">The users whose validation targets fit the blend's weights.</param>
    public static IReadOnlyList<NamedModel> Train(SequenceDataset data, int cutoff, IReadOnlyList<LeaveOneOutUser> fitUsers, Action<string>? progress = null)
    {
        var validationSources = Sources(data, data.Users.Select(u => u.Train).ToArray(), progress);
        var start = validationSources.Select(s => s.Name == "cooccurrence" ? 1f : s.Name == PopularityName ? 1e-6f : 0f).ToArray();
        var fitted = BlendFitter.Fit(BlendName, validationSources, fitUsers, cutoff, start, progress: progress);

        var testSequences = data.Users.Select(u => u.TestHistory).ToArray();
        var testSources = Sources(data, testSequences, progress);
        var popularity = testSources.Single(s => s.Name == PopularityName);
        var adjacent = new ItemGraphSource("cooccurrence-adjacent", ItemGraph.CoOccurrence(testSequences, data.ItemCount, CoOccurrenceOptions.Adjacent), historyItems: 3, recencyDecay: 0.5f);
        var tuned = testSources.Single(s => s.Name == "cooccurrence");

        // Popularity only breaks the baselines' ties: far below the smallest co-occurrence score a history can give.
        return
        [
            new NamedModel(PopularityName, popularity, IsBaseline: true),
            new NamedModel(CoOccurrenceBaselineName, new BlendedSource(CoOccurrenceBaselineName, [adjacent, popularity], [1f, 1e-6f]), IsBaseline: true),
            new NamedModel(TunedCoOccurrenceName, new BlendedSource(TunedCoOccurrenceName, [tuned, popularity], [1f, 1e-6f]), IsBaseline: true),
            new NamedModel(BlendName, new BlendedSource(BlendName, testSources, fitted.Weights), IsBaseline: false),
        ];
    }

    /// <summary>The blend's sources, built from <paramref name="sequences"/> (and the item texts when the data has them).</summary>
    public static IReadOnlyList<CandidateSource> Sources(SequenceDataset data, int[][] sequences, Action<string>? progress = null)
    {
        var tunedGraph = ItemGraph.CoOccurrence(sequences, data.ItemCount, new CoOccurrenceOptions());
        var wideGraph = ItemGraph.CoOccurrence(sequences, data.ItemCount, new CoOccurrenceOptions(Window: 50, WeightByDistance: false, ReverseWeight: 1f, PopularityExponent: 0.5f));
        var twoStepGraph = tunedGraph.TwoStep(maxNeighbours: 100);
        var sources = new List<CandidateSource>
        {
            new ItemGraphSource("cooccurrence-last1", tunedGraph, historyItems: 1, recencyDecay: 1f),
            new ItemGraphSource("cooccurrence", tunedGraph, historyItems: 3, recencyDecay: 0.5f),
            new ItemGraphSource("cooccurrence-last5-flat", tunedGraph, historyItems: 5, recencyDecay: 1f),
            new ItemGraphSource("cooccurrence-all", wideGraph, historyItems: 50, recencyDecay: 0.9f),
            new ItemGraphSource("two-step-last1", twoStepGraph, historyItems: 1, recencyDecay: 1f),
            new ItemGraphSource("two-step-last3", twoStepGraph, historyItems: 3, recencyDecay: 0.5f),
            new PopularitySource(sequences, data.ItemCount),
        };
        progress?.Invoke($"co-occurrence graphs: {tunedGraph.EdgeCount} edges (window 3), {wideGraph.EdgeCount} edges (whole histories)");
        if (data.ItemTexts is { } texts)
        {
            var textGraph = TextSimilarity.Graph(texts);
            progress?.Invoke($"text similarity graph: {textGraph.EdgeCount} edges");
            sources.Add(new ItemGraphSource("text-last1", textGraph, historyItems: 1, recencyDecay: 1f));
            sources.Add(new ItemGraphSource("text-last5", textGraph, historyItems: 5, recencyDecay: 0.7f));
        }

        return sources;
    }
}
