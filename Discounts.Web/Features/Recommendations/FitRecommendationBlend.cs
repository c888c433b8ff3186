using System.Text.Json;
using Discounts.Core.Data;
using Discounts.Core.Domain;
using Discounts.Core.Recommending;
using Discounts.Core.Scoring;
using Discounts.Web.Infrastructure;
using Hangfire;
using Mediator;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Discounts.Web.Features.Recommendations;

/// <summary>
/// Learns the final blend's weights for the serving scorer version on a held-out time split: every source is built
/// from the interactions before the cut-off (the last <see cref="RecommendationOptions.ValidationDays"/> days), each
/// validation user's candidates are generated exactly as serving does, labelled by whether the user clicked, carted or
/// bought them after the cut-off, and a logistic regression is fitted. The weights are stored as a versioned row and
/// swapped in. Runs as a Hangfire job, queued when a scorer version without a blend starts serving.
/// </summary>
public static partial class FitRecommendationBlend
{
    public const string JobId = "fit-recommendation-blend";

    private static readonly EventKind[] PositiveKinds = [EventKind.Click, EventKind.Cart, EventKind.Purchase];

    public sealed record Command : ICommand<Result>;

    public sealed record Result(string Version, string ModelVersion, IReadOnlyDictionary<string, double> Weights, double Intercept, BlendFitReport Report);

    public sealed partial class Handler(
        DiscountsDbContext db, IScorer scorer, Recommender recommender, IOptions<RecommendationOptions> options, TimeProvider clock,
        ILogger<Handler> logger) : ICommandHandler<Command, Result>
    {
        public async ValueTask<Result> Handle(Command command, CancellationToken cancellationToken)
        {
            var version = scorer.ActiveVersion;
            var modelVersion = version?.Name ?? "none";
            var (items, events) = await Recommender.LoadAsync(db, cancellationToken);
            var now = clock.GetUtcNow().UtcDateTime;
            var latest = events.Count == 0 ? now : events.Max(e => e.OccurredAt);
            var cutoff = latest.AddDays(-options.Value.ValidationDays);
            var index = CatalogueIndex.Build(items, events, cutoff, options.Value);

            var byUser = events.GroupBy(e => e.UserId).ToDictionary(g => g.Key, g => g.OrderBy(e => e.OccurredAt).ToList());
            var validationUsers = byUser.Where(u => u.Value.Any(e => e.OccurredAt > cutoff && PositiveKinds.Contains(e.Kind)))
                .Select(u => u.Key).Order().Take(options.Value.MaxValidationUsers).ToList();
            var profiles = await db.Profiles.AsNoTracking().Where(p => validationUsers.Contains(p.UserId))
                .Select(p => new { p.UserId, p.KeywordsJson, p.TopicsJson, p.ProfileText }).ToDictionaryAsync(p => p.UserId, cancellationToken);

            var matrix = version is null ? null : ItemMatrix.From(scorer.EmbedCatalogue(), index);
            var texts = validationUsers.Select(u => profiles.TryGetValue(u, out var p) ? p.ProfileText : "").ToList();
            var vectors = new float[]?[validationUsers.Count];
            if (version is not null)
            {
                for (var start = 0; start < texts.Count; start += 32)
                {
                    var chunk = Enumerable.Range(start, Math.Min(32, texts.Count - start)).Where(i => texts[i].Length > 0).ToList();
                    if (chunk.Count == 0)
                    {
                        continue;
                    }

                    var embedded = scorer.EmbedUsers(chunk.Select(i => texts[i]).ToList());
                    for (var k = 0; k < chunk.Count; k++)
                    {
                        vectors[chunk[k]] = embedded.Vector(k, version);
                    }
                }
            }

            var groups = new List<FitGroup>(validationUsers.Count);
            for (var u = 0; u < validationUsers.Count; u++)
            {
                var userEvents = byUser[validationUsers[u]];
                var before = userEvents.Where(e => e.OccurredAt <= cutoff).ToList();
                var history = before.Select(e => index.RowOf(e.ItemId)).OfType<int>().ToList();
                var bought = before.Where(e => e.Kind == EventKind.Purchase).Select(e => index.RowOf(e.ItemId)).OfType<int>().ToHashSet();
                var after = userEvents.Where(e => e.OccurredAt > cutoff && PositiveKinds.Contains(e.Kind)).Select(e => index.RowOf(e.ItemId)).OfType<int>().ToHashSet();
                var profile = profiles.GetValueOrDefault(validationUsers[u]);
                var interests = profile is null ? [] : Recommender.Interests(profile.KeywordsJson, profile.TopicsJson);
                var signals = new UserSignals(history, bought, interests, vectors[u]);
                var candidates = CandidateGenerator.Generate(index, signals, matrix, options.Value.CandidatesPerSource);
                GetRecommendations.AddBuyProbabilities(scorer, version, vectors[u], index, candidates);
                groups.Add(new FitGroup(candidates.Select(c => c.Features).ToList(), candidates.Select(c => after.Contains(c.Item)).ToList()));
            }

            var blendVersion = $"blend-{now:yyyyMMddHHmmss}-{modelVersion}";
            var (model, report) = LogisticBlendFitter.Fit(blendVersion, modelVersion, groups);
            var record = new RecommendationBlend
            {
                Version = blendVersion,
                ModelVersion = modelVersion,
                WeightsJson = JsonSerializer.Serialize(new StoredWeights(model.Named(), model.Intercept)),
                MetricsJson = JsonSerializer.Serialize(report, JsonSerializerOptions.Web),
                FittedAt = now,
            };
            db.RecommendationBlends.Add(record);
            await db.SaveChangesAsync(cancellationToken);
            recommender.UseBlend(model, now);
            LogFitted(logger, blendVersion, report.Users, report.Examples, report.Positives, report.HeldOutHitRateAt10);
            return new Result(blendVersion, modelVersion, model.Named(), model.Intercept, report);
        }

        [LoggerMessage(Level = LogLevel.Information, Message = "Recommendation blend {Version} fitted on {Users} validation users ({Examples} candidates, {Positives} positives); held-out HR@10 {HitRate:F3}")]
        private static partial void LogFitted(ILogger logger, string version, int users, int examples, int positives, double hitRate);
    }

    public sealed record StoredWeights(IReadOnlyDictionary<string, double> Weights, double Intercept);

    public static BlendModel FromRecord(RecommendationBlend record)
    {
        var stored = JsonSerializer.Deserialize<StoredWeights>(record.WeightsJson)!;
        var weights = RecommendationFeatures.Names.Select(name => stored.Weights.GetValueOrDefault(name)).ToArray();
        return new BlendModel(record.Version, record.ModelVersion, weights, stored.Intercept);
    }

    private static float[]? Vector(this EmbeddedBatch batch, int row, ScorerVersion expected) =>
        batch.Version == expected ? batch.Vectors[row] : null;

    /// <summary>The Hangfire entry point: the job goes through the mediator like any request.</summary>
    public sealed class Job(ISender sender)
    {
        [Queue(Queues.Default)]
        [AutomaticRetry(Attempts = 1)]
        public async Task RunAsync(CancellationToken cancellationToken) => await sender.Send(new Command(), cancellationToken);
    }
}
