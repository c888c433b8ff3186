using Discounts.Core.Domain;
using Discounts.Core.Evaluation;

namespace Discounts.Core.Recommending;

/// <summary>
/// Replays the shop's engine on a leave-one-out sequence data set, so the figures <c>evaluate-ranking</c> prints
/// describe what serves: each user's items become view events of a shop whose catalogue is the data set's items
/// (their text as the title), the index is built by <see cref="CatalogueIndex.Build"/>, candidates come from
/// <see cref="CandidateGenerator"/>, the blend is chosen by <see cref="LogisticBlendFitter"/> and the list is put in
/// <see cref="RankingOrder"/>. Three rules differ from serving, as the published protocol needs: items already in the
/// history are never ranked (serving re-offers viewed items), and there is no category cap and no re-buy rule.
/// </summary>
public static class SequenceReplay
{
    /// <summary>The replayed shop's clock: every event lies a year before the index's time, so nothing is trending or new.</summary>
    private static readonly DateTime Start = new(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>Which serving rules the replay applies; the scorer's sources and feature are on only with a scorer.</summary>
    public static IReadOnlyDictionary<string, bool> Rules(bool scorer) => new Dictionary<string, bool>
    {
        ["historyExcluded"] = true, ["categoryCap"] = false, ["rebuyRule"] = false, ["profileSources"] = scorer, ["scorer"] = scorer,
    };

    /// <summary>The index a shop would build whose users had viewed exactly <paramref name="sequences"/>, oldest first.</summary>
    public static CatalogueIndex Index(SequenceDataset data, IReadOnlyList<int[]> sequences, RecommendationOptions options)
    {
        var rows = new CatalogueRow[data.ItemCount];
        for (var item = 0; item < rows.Length; item++)
        {
            rows[item] = new CatalogueRow(item, item.ToString(System.Globalization.CultureInfo.InvariantCulture), data.ItemTexts?[item] ?? "", "", "", "", Start);
        }

        var events = new List<ActivityRow>(sequences.Sum(s => s.Length));
        for (var user = 0; user < sequences.Count; user++)
        {
            var sequence = sequences[user];
            for (var position = 0; position < sequence.Length; position++)
            {
                events.Add(new ActivityRow(user, sequence[position], EventKind.View, Start.AddSeconds(position)));
            }
        }

        return CatalogueIndex.Build(rows, events, Start.AddYears(1), options);
    }

    /// <summary>
    /// The engine's candidates for one history, less the history's own items. With a scorer, the user's vector proposes
    /// its nearest items (the embedding source, as a shop profile's vector does) and gives every candidate its scorer
    /// feature. The replay uses the vectors' similarity where the shop uses calibrated p(buy): calibration is monotone
    /// and the feature is a percentile within the list, so the two give the same feature.
    /// </summary>
    public static List<Candidate> Candidates(CatalogueIndex index, int[] history, int perSource, ItemMatrix? scorerItems = null, float[]? userVector = null)
    {
        var profile = scorerItems is null || userVector is null
            ? ProfileCandidates.None
            : CandidateGenerator.FromProfile(index, [], userVector, scorerItems, perSource);
        var candidates = RankingEngine.Candidates(index, new UserContext(history, EmptySet, profile), perSource);
        if (history.Length > 0)
        {
            var seen = new HashSet<int>(history);
            candidates.RemoveAll(c => seen.Contains(c.Item));
        }

        if (scorerItems is not null && userVector is not null)
        {
            foreach (var candidate in candidates)
            {
                candidate.Features[RecommendationFeatures.ScorerIndex] =
                    Scoring.VectorMath.Dot(userVector, scorerItems.Vectors.AsSpan(candidate.Item * scorerItems.Dimension, scorerItems.Dimension));
            }

            RecommendationFeatures.NormaliseScorer(candidates);
        }

        return candidates;
    }

    /// <summary>One labelled candidate list per user, the target as the positive: what the blend is fitted on.</summary>
    public static List<FitGroup> Groups(CatalogueIndex index, IReadOnlyList<(int[] History, int Target)> users, int perSource, ReplayScorer? scorer = null)
    {
        var groups = new FitGroup[users.Count];
        Parallel.For(0, users.Count, u =>
        {
            var candidates = Candidates(index, users[u].History, perSource, scorer?.Items, scorer?.UserVector(u));
            groups[u] = new FitGroup(candidates.Select(c => c.Features).ToList(), candidates.Select(c => c.Item == users[u].Target).ToList());
        });
        return [.. groups];
    }

    /// <summary>
    /// The target's 0-based rank in each user's list ranked by each of <paramref name="blends"/>, or the catalogue size
    /// when no source proposed it (it is then never shown). Candidates are generated once per user for all blends.
    /// </summary>
    public static int[][] Ranks(CatalogueIndex index, IReadOnlyList<BlendModel> blends, IReadOnlyList<(int[] History, int Target)> users, int perSource, ReplayScorer? scorer = null)
    {
        var ranks = blends.Select(_ => new int[users.Count]).ToArray();
        Parallel.For(0, users.Count, u =>
        {
            var (history, target) = users[u];
            var candidates = Candidates(index, history, perSource, scorer?.Items, scorer?.UserVector(u));
            for (var b = 0; b < blends.Count; b++)
            {
                var ordered = RankingEngine.Order(index, candidates, blends[b], stranger: false, RankingRules.NoCategoryCap, candidates.Count);
                var rank = ordered.FindIndex(c => c.Item == target);
                ranks[b][u] = rank < 0 ? index.Count : rank;
            }
        });
        return ranks;
    }

    private static readonly IReadOnlySet<int> EmptySet = new HashSet<int>();
}

/// <summary>A scorer as the replay reads it: its item vectors in index-row order, and one vector per replayed user.</summary>
/// <param name="UserVectors">Row-major, <see cref="ItemMatrix.Dimension"/> floats per user, in the replayed users' order.</param>
public sealed record ReplayScorer(ItemMatrix Items, float[] UserVectors)
{
    public float[] UserVector(int user) => UserVectors.AsSpan(user * Items.Dimension, Items.Dimension).ToArray();
}
