using System.Text.Json;
using Discounts.Core.Data;
using Discounts.Core.Domain;
using Discounts.Core.Profiling;
using Discounts.Core.Recommending;
using Discounts.Core.Scoring;
using Discounts.Core.Serving;
using Discounts.Web.Infrastructure;
using Hangfire;
using Mediator;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Discounts.Web.Features.Recommendations;

/// <summary>
/// Learns the final blend's weights for the serving scorer version on a held-out time split: every source is built
/// from the interactions before the cut-off (the last <see cref="RecommendationOptions.ValidationDays"/> days), each
/// validation user's profile is rebuilt from what they wrote and did before it, their candidates are generated exactly
/// as serving does, labelled by whether the user clicked, carted or bought them after the cut-off, and the blend is
/// chosen and fitted by <see cref="LogisticBlendFitter"/>. The weights are stored as a versioned row and
/// swapped in. Runs as a Hangfire job, queued when a scorer version without a blend starts serving.
/// </summary>
public static partial class FitRecommendationBlend
{
    public const string JobId = "fit-recommendation-blend";

    public sealed record Command : ICommand<Result>;

    public sealed record Result(string Version, string ModelVersion, IReadOnlyDictionary<string, double> Weights, double Intercept, BlendFitReport Report);

    public sealed partial class Handler(
        DiscountsDbContext db, IScorer scorer, IRecommendationService recommendations, TextModelStore textModels, IOptions<RecommendationOptions> options,
        TimeProvider clock, ILogger<Handler> logger) : ICommandHandler<Command, Result>
    {
        public async ValueTask<Result> Handle(Command command, CancellationToken cancellationToken)
        {
            var version = scorer.ActiveVersion;
            var modelVersion = version?.Name ?? "none";
            var (items, events) = await RecommendationService.LoadAsync(db, cancellationToken);
            var now = clock.GetUtcNow().UtcDateTime;
            var latest = events.Count == 0 ? now : events.Max(e => e.OccurredAt);
            var cutoff = latest.AddDays(-options.Value.ValidationDays);
            var index = CatalogueIndex.Build(items, events, cutoff, options.Value);
            var validationUsers = ValidationUsers(events, cutoff, options.Value.MaxValidationUsers);

            // Profiles as they stood at the cut-off: the stored ones were built from everything the users wrote and
            // did, including the weeks the blend is judged on.
            var activity = await ProfileBuilder.LoadActivityAsync(db, validationUsers, cutoff, cancellationToken);
            var textModel = await textModels.GetActiveAsync(db, cancellationToken);

            var groups = BuildGroups(index, events, cutoff, activity, textModel, version is null ? null : scorer, options.Value.CandidatesPerSource);
            var blendVersion = $"blend-{now:yyyyMMddHHmmss}-{modelVersion}";
            var (model, report) = LogisticBlendFitter.Fit(blendVersion, modelVersion, groups);
            var record = new RecommendationBlend
            {
                Version = blendVersion,
                ModelVersion = modelVersion,
                WeightsJson = StoredBlendWeights.Write(model),
                MetricsJson = JsonSerializer.Serialize(report, JsonSerializerOptions.Web),
                FittedAt = now,
            };
            db.RecommendationBlends.Add(record);
            await db.SaveChangesAsync(cancellationToken);
            recommendations.UseBlend(model, now);
            LogFitted(logger, blendVersion, report.Users, report.Examples, report.Positives, report.Selected, report.HeldOutHitRateAt10);
            return new Result(blendVersion, modelVersion, model.Named(), model.Intercept, report);
        }

        [LoggerMessage(Level = LogLevel.Information, Message = "Recommendation blend {Version} fitted on {Users} validation users ({Examples} candidates, {Positives} positives); selected {Selected}; held-out HR@10 {HitRate:F3}")]
        private static partial void LogFitted(ILogger logger, string version, int users, int examples, int positives, string selected, double hitRate);
    }

    /// <summary>Users who clicked, carted or bought after the cut-off, in id order, at most <paramref name="max"/>.</summary>
    public static List<long> ValidationUsers(IEnumerable<ActivityRow> events, DateTime cutoff, int max) =>
        events.Where(e => e.OccurredAt > cutoff && ScorerHistory.Counts(e.Kind)).Select(e => e.UserId).Distinct().Order().Take(max).ToList();

    /// <summary>
    /// One labelled candidate list per validation user, generated exactly as serving generates it, from what was known
    /// at the cut-off only: the index over earlier events, and a profile (keywords, topics, profile text and so the
    /// scorer's embedding) rebuilt from the user's texts and events up to the cut-off. Labels: clicked, carted or
    /// bought after it. Without a serving <paramref name="scorer"/> the embedding and scorer features stay 0. Texts and
    /// events in <paramref name="activity"/> after the cut-off are ignored here too.
    /// </summary>
    public static List<FitGroup> BuildGroups(
        CatalogueIndex index, IReadOnlyList<ActivityRow> events, DateTime cutoff, IReadOnlyList<UserActivity> activity,
        TextProfileModel? textModel, IScorer? scorer, int candidatesPerSource)
    {
        var before = activity.Select(a => new UserActivity(a.UserId, a.Texts.Where(t => t.OccurredAt <= cutoff).ToList(),
            a.Events.Where(e => e.OccurredAt <= cutoff).ToList())).ToList();
        var profiles = ProfileComputation.Build(before, textModel, cutoff);
        var version = scorer?.ActiveVersion;
        var matrix = scorer is null || version is null ? null : ItemMatrix.From(scorer.EmbedCatalogue(), index);
        var wanted = activity.Select(a => a.UserId).ToHashSet();
        var byUser = events.Where(e => wanted.Contains(e.UserId)).GroupBy(e => e.UserId)
            .ToDictionary(g => g.Key, g => g.OrderBy(e => e.OccurredAt).ToList());
        var vectors = new float[]?[profiles.Count];
        if (scorer is not null && version is not null)
        {
            var written = before.ToDictionary(a => a.UserId, a => a.Texts);
            var inputs = profiles.Select(p => version.ReadsHistory
                ? new ScorerUser(p.ProfileText,
                    ScorerHistory.Recent((byUser.GetValueOrDefault(p.UserId) ?? []).Where(e => e.OccurredAt <= cutoff).Reverse().Select(e => (e.ItemId, e.Kind))),
                    [.. written.GetValueOrDefault(p.UserId, []).OrderByDescending(t => t.OccurredAt).Take(ScorerHistory.MaxTexts).Select(t => t.Text)])
                : ScorerUser.OfText(p.ProfileText)).ToList();
            for (var start = 0; start < profiles.Count; start += 32)
            {
                var chunk = Enumerable.Range(start, Math.Min(32, profiles.Count - start))
                    .Where(i => inputs[i].Text.Length > 0 || inputs[i].RecentItemIds.Count > 0).ToList();
                if (chunk.Count == 0)
                {
                    continue;
                }

                var embedded = scorer.EmbedUsers(chunk.Select(i => inputs[i]).ToList());
                for (var k = 0; k < chunk.Count; k++)
                {
                    vectors[chunk[k]] = embedded.Vector(k, version);
                }
            }
        }

        var groups = new List<FitGroup>(profiles.Count);
        for (var u = 0; u < profiles.Count; u++)
        {
            var userEvents = byUser.GetValueOrDefault(profiles[u].UserId) ?? [];
            var earlier = userEvents.Where(e => e.OccurredAt <= cutoff).ToList();
            var history = earlier.Select(e => index.RowOf(e.ItemId)).OfType<int>().ToList();
            var bought = earlier.Where(e => e.Kind == EventKind.Purchase).Select(e => index.RowOf(e.ItemId)).OfType<int>().ToHashSet();
            var after = userEvents.Where(e => e.OccurredAt > cutoff && ScorerHistory.Counts(e.Kind)).Select(e => index.RowOf(e.ItemId)).OfType<int>().ToHashSet();
            // The same JSON round trip as a stored profile, so interests are read exactly as serving reads them.
            var interests = ProfileJson.Interests(
                JsonSerializer.Serialize(profiles[u].Keywords, ProfileJson.Options), JsonSerializer.Serialize(profiles[u].Topics, ProfileJson.Options));
            var candidates = CandidateGenerator.Generate(index, new UserSignals(history, bought, interests, vectors[u]), matrix, candidatesPerSource);
            if (scorer is not null)
            {
                RankingEngine.AddBuyProbabilities(scorer, version, vectors[u], index, candidates);
            }

            groups.Add(new FitGroup(candidates.Select(c => c.Features).ToList(), candidates.Select(c => after.Contains(c.Item)).ToList()));
        }

        return groups;
    }

    private static float[]? Vector(this EmbeddedBatch batch, int row, ScorerVersion expected) =>
        batch.Version == expected ? batch.Vectors[row] : null;

    /// <summary>Queues the job once: a fit already queued or running is not queued again.</summary>
    public sealed class Queue(JobDeduplicator jobs) : IBlendFitQueue
    {
        public void QueueFit() => jobs.EnqueueOnce(JobId, client => client.Enqueue<Job>(job => job.RunAsync(CancellationToken.None)));
    }

    /// <summary>The Hangfire entry point: the job goes through the mediator like any request.</summary>
    public sealed class Job(ISender sender)
    {
        [Queue(Queues.Default)]
        [AutomaticRetry(Attempts = 1)]
        public async Task RunAsync(CancellationToken cancellationToken) => await sender.Send(new Command(), cancellationToken);
    }
}
