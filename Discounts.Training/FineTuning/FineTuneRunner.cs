using System.Diagnostics;
using System.Text.Json;
using Discounts.Core.Data;
using Discounts.Core.Domain;
using Discounts.Training.Runtime;
using Discounts.Training.Serving;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

using Discounts.Training.Scorer;

namespace Discounts.Training.FineTuning;

/// <summary>Progress of a running fine-tune, as reported to the job runner after each logged step.</summary>
public sealed record FineTuneProgress(long RunId, int Step, int TotalSteps, double ProgressPercent, double? EtaSeconds, double Loss);

/// <summary>
/// The last finished epoch of a run, so a retried run resumes after it instead of starting over: the weights, and the
/// optimiser state (AdamW's moments) so the resumed steps are the ones an uninterrupted run would have taken.
/// </summary>
public sealed record RunCheckpoint(int Epoch, int Step, string WeightsPath, string Sha256, string? OptimizerPath = null, string? OptimizerSha256 = null);

/// <summary>What a run found, stored in TrainingRun.MetricsJson.</summary>
public sealed record FineTuneOutcome(
    ScorerMetrics Base,
    ScorerMetrics? Active,
    ScorerMetrics FineTuned,
    string PromotionMetric,
    bool Improved,
    bool Promoted,
    long ModelVersionId,
    double TrainSeconds,
    double StepsPerSecond,
    double? SwapMilliseconds,
    string? ActiveUnreadable = null)
{
    /// <summary>Why the version was or was not activated, in words for the run page.</summary>
    public string? PromotionNote { get; init; }

    /// <summary>A sequence run's training steps' matmul rate as a share of the machine's float32 matmul rate, measured in the same run.</summary>
    public double? MatmulShare { get; init; }

    /// <summary>A sequence run's history positions per second of training step, none of them padding.</summary>
    public double? HistoryPositionsPerSecond { get; init; }
}

/// <summary>
/// Executes one queued TrainingRun: reads the data, fine-tunes the two-tower scorer, records loss points and
/// metrics, registers the weights as a model version and activates it when it beats the serving model.
/// </summary>
public sealed partial class FineTuneRunner(
    DiscountsDbContext db,
    ScorerModels models,
    ScorerHost host,
    ScorerActivation activation,
    TrainingCancellations cancellations,
    TimeProvider clock,
    ILogger<FineTuneRunner> logger,
    SequenceFineTune? sequence = null)
{
    public const string PromotionMetric = "hitRate10";

    /// <summary>Runs' stored JSON; enums by name (<c>"model": "sequence"</c>), numbers still read.</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    public async Task RunAsync(long runId, IProgress<FineTuneProgress>? progress, CancellationToken jobToken)
    {
        var run = await db.TrainingRuns.SingleAsync(r => r.Id == runId, jobToken);
        if (run.Status is not (TrainingRunStatus.Queued or TrainingRunStatus.Running)) return;
        using var registration = cancellations.Register(runId, jobToken);
        var token = registration.Token;
        var hp = JsonSerializer.Deserialize<FineTuneHyperparameters>(run.HyperparametersJson, Json) ?? new FineTuneHyperparameters();
        run.Status = TrainingRunStatus.Running;
        run.StartedAt = clock.GetUtcNow().UtcDateTime;
        run.StartedFromModelVersionId = host.ActiveVersion?.ModelVersionId;
        await db.SaveChangesAsync(CancellationToken.None);
        LogStarted(logger, runId, hp.Model, hp.Epochs, hp.MaxExamplesPerEpoch);
        try
        {
            var outcome = await TrainAsync(run, hp, progress, token);
            run.Status = TrainingRunStatus.Succeeded;
            run.MetricsJson = JsonSerializer.Serialize(outcome, Json);
            run.ProgressPercent = 100;
            run.EtaSeconds = 0;
            DeleteCheckpoints(runId);
            LogSucceeded(logger, runId, outcome.Base.HitRate10, outcome.FineTuned.HitRate10, outcome.Promoted);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            run.Status = TrainingRunStatus.Cancelled;
            DeleteCheckpoints(runId);
            LogCancelled(logger, runId);
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            run.Status = TrainingRunStatus.Failed;
            run.Error = error.Message;
            LogFailed(logger, error, runId);
        }
        run.FinishedAt = clock.GetUtcNow().UtcDateTime;
        await db.SaveChangesAsync(CancellationToken.None);
    }

    private async Task<FineTuneOutcome> TrainAsync(TrainingRun run, FineTuneHyperparameters hp, IProgress<FineTuneProgress>? progress, CancellationToken token)
    {
        if (hp.Model == ScorerKind.Sequence)
        {
            return await (sequence ?? throw new InvalidOperationException("Sequence runs are not set up in this host.")).TrainAsync(run, hp, progress, token);
        }

        var data = await TrainingData.LoadAsync(db, hp, token);
        run.DatasetSnapshotJson = JsonSerializer.Serialize(data.Snapshot, Json);
        await db.SaveChangesAsync(CancellationToken.None);

        var (scorer, _) = models.CreateBase(hp.Dropout);
        using var owned = scorer;
        run.Device = scorer.Device.ToString();
        scorer.Model.Freeze(hp.FreezeEmbeddings, hp.FrozenLayers);
        // The untrained scorer is the base model: the encoder as shipped under the cosine-initialised head.
        var baseMetrics = ScorerEvaluation.Evaluate(scorer, data, hp.MaxSequenceLength);
        var (activeMetrics, activeUnreadable) = EvaluateActive(run.Id, data, hp);
        token.ThrowIfCancellationRequested();

        var stepsPerEpoch = (int)Math.Ceiling(Math.Min(data.Train.Count, hp.MaxExamplesPerEpoch) / (double)hp.BatchSize);
        var totalSteps = Math.Max(1, stepsPerEpoch * hp.Epochs);
        var warmupSteps = (int)Math.Round(totalSteps * hp.WarmupFraction);
        var trainable = scorer.Model.parameters().Where(p => p.requires_grad).ToList();
        using var optimizer = optim.AdamW(trainable, lr: hp.LearningRate, weight_decay: hp.WeightDecay);
        // Linear warm-up to the peak rate, then linear decay to zero at the last step.
        var schedule = optim.lr_scheduler.LambdaLR(optimizer, step =>
            step < warmupSteps ? (step + 1.0) / (warmupSteps + 1.0) : Math.Max(0.0, (totalSteps - step) / (double)Math.Max(1, totalSteps - warmupSteps)));

        manual_seed(hp.Seed);
        var step = 0;
        var firstEpoch = 1;
        var checkpointFile = CheckpointFile(run.Id);
        if (File.Exists(checkpointFile))
        {
            // A retried run (the process stopped mid-run): continue after the last finished epoch with the weights and
            // optimiser state saved there; the learning-rate schedule is replayed to the step reached.
            var checkpoint = JsonSerializer.Deserialize<RunCheckpoint>(await File.ReadAllTextAsync(checkpointFile, token), Json)!;
            ScorerModels.LoadWeightsInto(scorer.Model, checkpoint.WeightsPath, checkpoint.Sha256);
            RestoreOptimizer(optimizer, checkpoint, run.Id);
            firstEpoch = checkpoint.Epoch + 1;
            step = checkpoint.Step;
            for (var replayed = 0; replayed < step; replayed++) schedule.step();
            LogResumed(logger, run.Id, checkpoint.Epoch);
        }

        var clockStart = Stopwatch.GetTimestamp();
        var stepsAtStart = step;
        ScorerMetrics? last = null;
        var margins = new List<(float Margin, bool Bought)>();
        for (var epoch = firstEpoch; epoch <= hp.Epochs; epoch++)
        {
            scorer.Model.train();
            var sample = data.EpochSample(epoch, hp.Seed, hp.MaxExamplesPerEpoch);
            foreach (var batch in sample.Chunk(hp.BatchSize))
            {
                token.ThrowIfCancellationRequested();
                var loss = TrainStep(scorer, optimizer, trainable, batch, data, hp);
                schedule.step();
                step++;
                if (step % hp.LogEverySteps == 0 || step == totalSteps)
                {
                    var elapsed = Stopwatch.GetElapsedTime(clockStart).TotalSeconds;
                    run.ProgressPercent = Math.Round(100.0 * step / totalSteps, 1);
                    run.EtaSeconds = Math.Round(elapsed / (step - stepsAtStart) * (totalSteps - step), 1);
                    db.LossPoints.Add(new LossPoint
                    {
                        TrainingRunId = run.Id, Step = step, Epoch = epoch, Split = LossSplit.Train, Loss = loss, RecordedAt = clock.GetUtcNow().UtcDateTime,
                    });
                    await db.SaveChangesAsync(CancellationToken.None);
                    progress?.Report(new FineTuneProgress(run.Id, step, totalSteps, run.ProgressPercent, run.EtaSeconds, loss));
                    LogStep(logger, run.Id, step, totalSteps, loss);
                }
            }

            scorer.Model.eval();
            margins.Clear();
            last = ScorerEvaluation.Evaluate(scorer, data, hp.MaxSequenceLength, margins);
            db.LossPoints.Add(new LossPoint
            {
                TrainingRunId = run.Id, Step = step, Epoch = epoch, Split = LossSplit.Validation, Loss = last.LogLoss,
                MetricsJson = JsonSerializer.Serialize(last, Json), RecordedAt = clock.GetUtcNow().UtcDateTime,
            });
            await db.SaveChangesAsync(CancellationToken.None);
            LogEpoch(logger, run.Id, epoch, last.LogLoss, last.Auc, last.HitRate10);
            await WriteCheckpointAsync(scorer, optimizer, run.Id, epoch, step);
        }
        var trainSeconds = Stopwatch.GetElapsedTime(clockStart).TotalSeconds;
        token.ThrowIfCancellationRequested();

        // A run resumed after its last epoch has no fresh evaluation; evaluate the restored weights.
        var fineTuned = last ?? ScorerEvaluation.Evaluate(scorer, data, hp.MaxSequenceLength, margins);
        // Negatives are sampled, so the head's raw probabilities are not the shop's; Platt scaling on the validation
        // split maps them back. A monotone map: the ranking metrics do not move, only the log loss.
        var (scale, bias) = ScorerEvaluation.FitPlatt(margins);
        scorer.Model.Calibrate(scale, bias);
        fineTuned = fineTuned with { LogLoss = ScorerEvaluation.PlattLogLoss(margins, scale, bias) };
        var name = $"scorer-run{run.Id}-{clock.GetUtcNow():yyyyMMddHHmmss}";
        var path = Path.Combine(models.ScorerFolder, name + ".safetensors");
        var sha = ScorerModels.SaveAtomically(scorer.Model, path);
        var version = new ModelVersion
        {
            Name = name, Status = ModelStatus.Candidate, WeightsPath = models.ToRegistryPath(path), Sha256 = sha, TrainingRunId = run.Id,
            MetricsJson = JsonSerializer.Serialize(fineTuned, Json), CreatedAt = clock.GetUtcNow().UtcDateTime,
        };
        db.ModelVersions.Add(version);
        await db.SaveChangesAsync(CancellationToken.None);

        var serving = activeMetrics ?? baseMetrics;
        // Against an active version that could not be read there is no comparison, so the new version stays a candidate.
        var improved = activeUnreadable is null
                       && (fineTuned.HitRate10 > serving.HitRate10 || (fineTuned.HitRate10 == serving.HitRate10 && fineTuned.Ndcg10 > serving.Ndcg10));
        double? swapMilliseconds = null;
        if (improved || hp.ForcePromote)
        {
            swapMilliseconds = (await activation.ActivateAsync(version.Id, CancellationToken.None)).TotalMilliseconds;
        }
        return new FineTuneOutcome(baseMetrics, activeMetrics, fineTuned, PromotionMetric, improved, swapMilliseconds is not null, version.Id,
            Math.Round(trainSeconds, 2), Math.Round((step - stepsAtStart) / Math.Max(trainSeconds, 1e-9), 3), swapMilliseconds, activeUnreadable);
    }

    private string CheckpointFile(long runId) => Path.Combine(models.CheckpointFolder, $"run-{runId}.json");

    /// <summary>Weights and optimiser state first, then the small JSON that points at them (replaced by rename), so a crash never leaves a pointer to nothing.</summary>
    private async Task WriteCheckpointAsync(ScorerModel scorer, OptimizerHelper optimizer, long runId, int epoch, int step)
    {
        var weights = CheckpointPath(runId, epoch, WeightsExtension);
        var optimizerState = CheckpointPath(runId, epoch, OptimizerExtension);
        foreach (var stale in new[] { weights, optimizerState }) if (File.Exists(stale)) File.Delete(stale);
        var weightsSha = ScorerModels.SaveAtomically(scorer.Model, weights);
        var optimizerSha = ScorerModels.SaveAtomically(optimizer, optimizerState);
        var pointer = CheckpointFile(runId);
        var temporary = pointer + ".tmp";
        var checkpoint = new RunCheckpoint(epoch, step, weights, weightsSha, optimizerState, optimizerSha);
        await File.WriteAllTextAsync(temporary, JsonSerializer.Serialize(checkpoint, Json), CancellationToken.None);
        DurableFile.FlushToDisk(temporary);
        DurableFile.Rename(temporary, pointer, overwrite: true);
        foreach (var previous in new[] { CheckpointPath(runId, epoch - 1, WeightsExtension), CheckpointPath(runId, epoch - 1, OptimizerExtension) })
            if (File.Exists(previous)) File.Delete(previous);
    }

    /// <summary>
    /// Loads the saved optimiser state. A checkpoint without one, or with a damaged one, still resumes from its weights
    /// with fresh moments: losing AdamW's running averages costs a little convergence, not the run.
    /// </summary>
    private void RestoreOptimizer(OptimizerHelper optimizer, RunCheckpoint checkpoint, long runId)
    {
        if (checkpoint.OptimizerPath is null || checkpoint.OptimizerSha256 is null || !File.Exists(checkpoint.OptimizerPath))
        {
            LogOptimizerStateMissing(logger, runId);
            return;
        }
        try
        {
            ScorerModels.LoadOptimizerInto(optimizer, checkpoint.OptimizerPath, checkpoint.OptimizerSha256);
        }
        catch (Exception error) when (error is InvalidDataException or IOException or ArgumentException or EndOfStreamException)
        {
            LogOptimizerStateRefused(logger, error, runId);
        }
    }

    private const string WeightsExtension = "safetensors";
    private const string OptimizerExtension = "optimizer";

    private string CheckpointPath(long runId, int epoch, string extension) => Path.Combine(models.CheckpointFolder, $"run-{runId}-epoch{epoch}.{extension}");

    private void DeleteCheckpoints(long runId)
    {
        var folder = models.CheckpointFolder;
        if (!Directory.Exists(folder)) return;
        foreach (var file in Directory.GetFiles(folder, $"run-{runId}-epoch*.*").Append(CheckpointFile(runId)))
            if (File.Exists(file)) File.Delete(file);
    }

    /// <summary>
    /// The serving version's figures, read again from its registered file. A file that has gone or fails its checksum
    /// since it was activated does not cost the run: the reason is returned instead, and the run is not promoted.
    /// </summary>
    private (ScorerMetrics? Metrics, string? Unreadable) EvaluateActive(long runId, TrainingDataset data, FineTuneHyperparameters hp)
    {
        if (host.ActiveVersion?.ModelVersionId is not { } activeId) return (null, null);
        var active = db.ModelVersions.AsNoTracking().SingleOrDefault(m => m.Id == activeId);
        if (active is null) return (null, $"The active version {activeId} is no longer in the registry.");
        try
        {
            using var scorer = models.LoadVersion(active.WeightsPath, active.Sha256);
            return (ScorerEvaluation.Evaluate(scorer, data, hp.MaxSequenceLength), null);
        }
        catch (Exception error) when (error is InvalidDataException or IOException or Weights.WeightMismatchException)
        {
            LogActiveUnreadable(logger, error, runId, activeId);
            return (null, $"The active version {activeId} could not be read for comparison: {error.Message}");
        }
    }

    /// <summary>One optimisation step in its own dispose scope; returns the batch loss.</summary>
    private static double TrainStep(ScorerModel scorer, OptimizerHelper optimizer, IReadOnlyList<Parameter> trainable,
        IReadOnlyList<Example> batch, TrainingDataset data, FineTuneHyperparameters hp)
    {
        var userBatch = scorer.Tokenizer.EncodeBatch(batch.Select(e => data.UserTexts.GetValueOrDefault(e.UserId, "new shopper")).ToList(), hp.MaxSequenceLength);
        var itemText = data.Items.ToDictionary(i => i.Id, i => i.Text);
        var itemBatch = scorer.Tokenizer.EncodeBatch(batch.Select(e => itemText[e.ItemId]).ToList(), hp.MaxSequenceLength);
        var labels = batch.Select(e => e.Bought ? (long)TwoTowerModel.BuyLabel : 0L).ToArray();
        using var scope = NewDisposeScope();
        optimizer.zero_grad();
        using var users = userBatch.ToTensors(scorer.Device);
        using var items = itemBatch.ToTensors(scorer.Device);
        var logits = scorer.Model.call(users, items);
        var loss = nn.functional.cross_entropy(logits, tensor(labels, device: scorer.Device));
        loss.backward();
        nn.utils.clip_grad_norm_(trainable, hp.MaxGradNorm);
        optimizer.step();
        return loss.item<float>();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Fine-tune run {RunId} started: the {Model} scorer; two-tower settings {Epochs} epoch(s), up to {Examples} examples each")]
    private static partial void LogStarted(ILogger logger, long runId, ScorerKind model, int epochs, int examples);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Fine-tune run {RunId} resumes without optimiser state: its checkpoint has none")]
    private static partial void LogOptimizerStateMissing(ILogger logger, long runId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Fine-tune run {RunId} resumes without optimiser state: the saved state was refused")]
    private static partial void LogOptimizerStateRefused(ILogger logger, Exception error, long runId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Fine-tune run {RunId} resumed after epoch {Epoch} from its checkpoint")]
    private static partial void LogResumed(ILogger logger, long runId, int epoch);

    [LoggerMessage(Level = LogLevel.Information, Message = "Fine-tune run {RunId}: step {Step}/{TotalSteps}, train loss {Loss:F4}")]
    private static partial void LogStep(ILogger logger, long runId, int step, int totalSteps, double loss);

    [LoggerMessage(Level = LogLevel.Information, Message = "Fine-tune run {RunId}: epoch {Epoch} validation log loss {LogLoss:F4}, AUC {Auc:F3}, HR@10 {HitRate:F3}")]
    private static partial void LogEpoch(ILogger logger, long runId, int epoch, double logLoss, double auc, double hitRate);

    [LoggerMessage(Level = LogLevel.Information, Message = "Fine-tune run {RunId} succeeded: HR@10 base {BaseHitRate:F3}, fine-tuned {HitRate:F3}, promoted {Promoted}")]
    private static partial void LogSucceeded(ILogger logger, long runId, double baseHitRate, double hitRate, bool promoted);

    [LoggerMessage(Level = LogLevel.Information, Message = "Fine-tune run {RunId} cancelled; the active model is unchanged")]
    private static partial void LogCancelled(ILogger logger, long runId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Fine-tune run {RunId} could not read the active version {ModelVersionId} to compare with; it will not be promoted")]
    private static partial void LogActiveUnreadable(ILogger logger, Exception error, long runId, long modelVersionId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Fine-tune run {RunId} failed")]
    private static partial void LogFailed(ILogger logger, Exception error, long runId);
}
