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

    public static IReadOnlyDictionary<string, bool> Rules { get; } = new Dictionary<string, bool>
    {
        ["historyExcluded"] = true, ["categoryCap"] = false, ["rebuyRule"] = false, ["profileSources"] = false, ["scorer"] = false,
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

    /// <summary>The engine's candidates for one history, less the history's own items.</summary>
    public static List<Candidate> Candidates(CatalogueIndex index, int[] history, int perSource)
    {
        var candidates = RankingEngine.Candidates(index, new UserContext(history, EmptySet, ProfileCandidates.None), perSource);
        if (history.Length > 0)
        {
            var seen = new HashSet<int>(history);
            candidates.RemoveAll(c => seen.Contains(c.Item));
        }

        return candidates;
    }

    /// <summary>One labelled candidate list per user, the target as the positive: what the blend is fitted on.</summary>
    public static List<FitGroup> Groups(CatalogueIndex index, IReadOnlyList<(int[] History, int Target)> users, int perSource)
    {
        var groups = new FitGroup[users.Count];
        Parallel.For(0, users.Count, u =>
        {
            var candidates = Candidates(index, users[u].History, perSource);
            groups[u] = new FitGroup(candidates.Select(c => c.Features).ToList(), candidates.Select(c => c.Item == users[u].Target).ToList());
        });
        return [.. groups];
    }

    /// <summary>
    /// The target's 0-based rank in each user's list ranked by each of <paramref name="blends"/>, or the catalogue size
    /// when no source proposed it (it is then never shown). Candidates are generated once per user for all blends.
    /// </summary>
    public static int[][] Ranks(CatalogueIndex index, IReadOnlyList<BlendModel> blends, IReadOnlyList<(int[] History, int Target)> users, int perSource)
    {
        var ranks = blends.Select(_ => new int[users.Count]).ToArray();
        Parallel.For(0, users.Count, u =>
        {
            var (history, target) = users[u];
            var candidates = Candidates(index, history, perSource);
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
