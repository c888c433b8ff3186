using System.Diagnostics;
using System.Text.Json;
using Discounts.Core.Data;
using Discounts.Core.Domain;
using Discounts.Core.Evaluation;
using Discounts.Core.Recommending;
using Discounts.Training.Scorer;
using Discounts.Training.Serving;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Discounts.Training.FineTuning;

/// <summary>How a scorer did on the validation choices, user by user, beside its summary figures.</summary>
public sealed record ChoiceEvaluation(ScorerMetrics Metrics, bool[] Hits);

/// <summary>
/// A fine-tuning run of the sequence scorer on the shop: its towers learn, over the pretrained encoder's vectors of
/// the items' texts, which item a user chooses next after their recent ones. Trained on the events up to the blend's
/// cut-off and judged on each validation user's first new choice after it, ranked against the whole catalogue, as
/// the base model and the serving version are judged on the same users. The new version is activated only when it
/// beats the serving one by the blend's sign test.
/// </summary>
public sealed partial class SequenceFineTune(
    DiscountsDbContext db,
    ScorerModels models,
    ScorerHost host,
    ScorerActivation activation,
    ItemEmbeddingStore itemStore,
    IOptions<FineTuneOptions> options,
    IOptions<RecommendationOptions> recommendations,
    TimeProvider clock,
    ILogger<SequenceFineTune> logger)
{
    private const int CalibrationNegatives = 4;

    public async Task<FineTuneOutcome> TrainAsync(TrainingRun run, FineTuneHyperparameters hp, IProgress<FineTuneProgress>? progress, CancellationToken token)
    {
        var fit = hp.Sequence ?? new SequenceFitOptions();
        var data = await SequenceShopData.LoadAsync(db, recommendations.Value.ValidationDays, recommendations.Value.MaxValidationUsers, hp.Seed, token);
        run.DatasetSnapshotJson = JsonSerializer.Serialize(data.Snapshot, FineTuneRunner.Json);
        await db.SaveChangesAsync(CancellationToken.None);
        if (data.Examples.Count == 0) throw new InvalidOperationException("No user chose an item after writing or choosing another before the validation window: there is nothing to learn from.");

        var maxLength = options.Value.ServingMaxSequenceLength;
        var (encoder, baseSha) = models.CreateBase(dropout: 0);
        var device = encoder.Device;
        float[] texts, written;
        using (encoder)
        {
            run.Device = device.ToString();
            texts = itemStore.Embed(encoder, data.Items, baseSha, maxLength, models.BaseItemVectorsPath(baseSha)).Vectors;
            written = ScorerInference.Embed(encoder, data.UserTexts.Select(t => t.Text).ToList(), maxLength);
        }

        var hidden = texts.Length / data.Items.Count;
        using var scorer = new SequenceScorer(texts, hidden, device, fit, userTextVectors: written);
        var totalEpochs = fit.Members * fit.Epochs;
        var started = Stopwatch.GetTimestamp();
        var points = new List<LossPoint>();
        var ensemble = scorer.Fit(data.Examples.Select(e => (e.History, e.Target)).ToList(), data.FitValidation, message => LogProgress(logger, run.Id, message), onEpoch: epoch =>
        {
            var step = epoch.Member * fit.Epochs + epoch.Epoch;
            points.Add(new LossPoint
            {
                TrainingRunId = run.Id, Step = step, Epoch = epoch.Epoch, Split = LossSplit.Train, Loss = epoch.Loss, RecordedAt = clock.GetUtcNow().UtcDateTime,
                MetricsJson = epoch.ValidationNdcgAt10 is { } ndcg ? JsonSerializer.Serialize(new { member = epoch.Member + 1, ndcg10 = Math.Round(ndcg, 4) }, FineTuneRunner.Json) : null,
            });
            var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
            progress?.Report(new FineTuneProgress(run.Id, step, totalEpochs, Math.Round(100.0 * step / totalEpochs, 1), Math.Round(elapsed / step * (totalEpochs - step), 1), epoch.Loss));
        }, cancellationToken: token);
        db.LossPoints.AddRange(points);
        run.ProgressPercent = 100;
        await db.SaveChangesAsync(CancellationToken.None);
        var trainSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        token.ThrowIfCancellationRequested();

        var calibration = Calibration(scorer, data, hp.Seed);
        var name = $"sequence-run{run.Id}-{clock.GetUtcNow():yyyyMMddHHmmss}";
        var path = Path.Combine(models.ScorerFolder, name + ".safetensors");
        var sha = ScorerModels.SaveAtomically(scorer, path, data.Items.Select(i => i.Id).ToList(), calibration);
        var version = new ModelVersion
        {
            Name = name, Status = ModelStatus.Candidate, WeightsPath = models.ToRegistryPath(path), Sha256 = sha, TrainingRunId = run.Id,
            CreatedAt = clock.GetUtcNow().UtcDateTime,
        };

        // Every side through the snapshot it would serve with, on the same users: base, the serving version, this one.
        ChoiceEvaluation fineTuned, baseline;
        using (var snapshot = new OwnedSnapshot(await activation.BuildAsync(version, token))) fineTuned = Evaluate(snapshot.Value, data, hp.Seed);
        using (var snapshot = new OwnedSnapshot(await activation.BuildBaseAsync(token))) baseline = Evaluate(snapshot.Value, data, hp.Seed);
        var (active, activeUnreadable) = await EvaluateActiveAsync(run.Id, data, hp.Seed, token);
        version.MetricsJson = JsonSerializer.Serialize(fineTuned.Metrics, FineTuneRunner.Json);
        db.ModelVersions.Add(version);
        await db.SaveChangesAsync(CancellationToken.None);

        var serving = active ?? baseline;
        var wins = fineTuned.Hits.Where((hit, u) => hit && !serving.Hits[u]).Count();
        var losses = fineTuned.Hits.Where((hit, u) => !hit && serving.Hits[u]).Count();
        var improved = activeUnreadable is null && LogisticBlendFitter.ClearlyBetter(wins, losses);
        var against = active is null ? "the base model" : "the serving version";
        var note = activeUnreadable is not null
            ? $"Not promoted: {activeUnreadable}"
            : $"Against {against}, user by user at HR@10: hits {wins} it misses, misses {losses} it hits; "
              + (improved ? "clearly better by the blend's sign test, so promoted." : $"a net {wins - losses} is not clearly better by the blend's sign test (at least {Math.Max(LogisticBlendFitter.MinimumNetWins, Math.Sqrt(wins + losses)):F1}), so it stays a candidate.");
        if (!improved && hp.ForcePromote) note += " Promoted anyway (forcePromote).";
        double? swapMilliseconds = null;
        if (improved || hp.ForcePromote) swapMilliseconds = (await activation.ActivateAsync(version.Id, CancellationToken.None)).TotalMilliseconds;
        LogDone(logger, run.Id, baseline.Metrics.Ndcg10, fineTuned.Metrics.Ndcg10, wins, losses, swapMilliseconds is not null);
        return new FineTuneOutcome(baseline.Metrics, active?.Metrics, fineTuned.Metrics, PromotionRule, improved, swapMilliseconds is not null, version.Id,
            Math.Round(trainSeconds, 2), Math.Round(totalEpochs / Math.Max(trainSeconds, 1e-9), 3), swapMilliseconds, activeUnreadable)
        {
            PromotionNote = note,
            MatmulShare = ensemble.ShareOfMatmulRate,
            HistoryPositionsPerSecond = Math.Round(ensemble.Members.Average(m => m.HistoryPositionsPerSecond)),
        };
    }

    public const string PromotionRule = "hitRate10 sign test";

    /// <summary>
    /// Ranks each validation user's choice among every item by the snapshot's p(buy) of the user as read at the
    /// cut-off, their earlier items masked, under the protocol's rank rule; AUC and log loss over the choice and
    /// <see cref="CalibrationNegatives"/> items drawn per user from those they had not chosen.
    /// </summary>
    public static ChoiceEvaluation Evaluate(ScorerSnapshot snapshot, SequenceShopData data, int seed)
    {
        var catalogue = snapshot.EmbedCatalogue();
        var rowOf = catalogue.ItemIds.Select((id, row) => (id, row)).ToDictionary(p => p.id, p => p.row);
        var vectors = snapshot.EmbedUsers(data.Validation.Select(v => v.Input).ToList());
        var metrics = new RankingMetricsAccumulator([10]);
        var hits = new bool[data.Validation.Count];
        var random = new Random(seed);
        var probabilities = new List<float>();
        var labels = new List<bool>();
        var users = 0;
        for (var u = 0; u < data.Validation.Count; u++)
        {
            var choice = data.Validation[u];
            if (!rowOf.TryGetValue(choice.Target, out var target)) continue;
            var scores = snapshot.ScoreUserVector(vectors[u], catalogue.ItemIds);
            for (var i = 0; i < scores.Length; i++) if (!float.IsFinite(scores[i])) scores[i] = float.MinValue;
            var masked = new bool[scores.Length];
            foreach (var id in choice.History) if (rowOf.TryGetValue(id, out var row)) masked[row] = true;
            var rank = LeaveOneOutEvaluation.Rank(scores, target, masked);
            metrics.Add(rank);
            users++;
            hits[u] = rank < 10;
            probabilities.Add(scores[target]);
            labels.Add(true);
            for (var n = 0; n < CalibrationNegatives; n++)
            {
                var other = random.Next(scores.Length);
                if (other == target || masked[other]) continue;
                probabilities.Add(scores[other]);
                labels.Add(false);
            }
        }

        var result = metrics.Result();
        return new ChoiceEvaluation(new ScorerMetrics(ScorerEvaluation.Auc(probabilities, labels), ScorerEvaluation.LogLoss(probabilities, labels),
            result.HitRate[10], result.Ndcg[10], labels.Count, users), hits);
    }

    /// <summary>Platt scaling of the similarity on the validation users with history: their choice against items drawn from those they had not chosen.</summary>
    private static (double Scale, double Bias) Calibration(SequenceScorer scorer, SequenceShopData data, int seed)
    {
        var validation = data.FitValidation;
        var users = scorer.UserVectors(validation.Select(v => v.History).ToList());
        var items = scorer.ItemVectors();
        var dimension = scorer.Dimension;
        var random = new Random(seed);
        var pairs = new List<(float Margin, bool Bought)>();
        for (var u = 0; u < validation.Count; u++)
        {
            float Similarity(int item) => Core.Scoring.VectorMath.Dot(users.AsSpan(u * dimension, dimension), items.AsSpan(item * dimension, dimension));
            pairs.Add((Similarity(validation[u].Target), true));
            for (var n = 0; n < CalibrationNegatives; n++)
            {
                var other = random.Next(scorer.ItemCount);
                if (other != validation[u].Target && !validation[u].History.Contains(other)) pairs.Add((Similarity(other), false));
            }
        }

        return ScorerEvaluation.FitPlatt(pairs);
    }

    private async Task<(ChoiceEvaluation? Evaluation, string? Unreadable)> EvaluateActiveAsync(long runId, SequenceShopData data, int seed, CancellationToken token)
    {
        if (host.ActiveVersion?.ModelVersionId is not { } activeId) return (null, null);
        var active = await db.ModelVersions.AsNoTracking().SingleOrDefaultAsync(m => m.Id == activeId, token);
        if (active is null) return (null, $"The active version {activeId} is no longer in the registry.");
        try
        {
            using var snapshot = new OwnedSnapshot(await activation.BuildAsync(active, token));
            return (Evaluate(snapshot.Value, data, seed), null);
        }
        catch (Exception error) when (error is InvalidDataException or IOException or Weights.WeightMismatchException)
        {
            LogActiveUnreadable(logger, error, runId, activeId);
            return (null, $"The active version {activeId} could not be read for comparison: {error.Message}");
        }
    }

    /// <summary>A snapshot built to be measured, never published: disposing it frees its model.</summary>
    private sealed class OwnedSnapshot(ScorerSnapshot value) : IDisposable
    {
        public ScorerSnapshot Value { get; } = value;

        public void Dispose() => Value.Retire();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Fine-tune run {RunId}: {Message}")]
    private static partial void LogProgress(ILogger logger, long runId, string message);

    [LoggerMessage(Level = LogLevel.Information, Message = "Fine-tune run {RunId} (sequence scorer) done: NDCG@10 base {BaseNdcg:F4}, fine-tuned {Ndcg:F4}; against the serving model {Wins} wins, {Losses} losses; promoted {Promoted}")]
    private static partial void LogDone(ILogger logger, long runId, double baseNdcg, double ndcg, int wins, int losses, bool promoted);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Fine-tune run {RunId} could not read the active version {ModelVersionId} to compare with; it will not be promoted")]
    private static partial void LogActiveUnreadable(ILogger logger, Exception error, long runId, long modelVersionId);
}
