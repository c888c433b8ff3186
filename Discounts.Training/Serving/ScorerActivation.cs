using Discounts.Core.Data;
using Discounts.Core.Domain;
using Discounts.Core.Scoring;
using Discounts.Training.Scorer;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Discounts.Training.Serving;

/// <summary>Builds snapshots from the model registry and the catalogue, publishes them, and records which version is active.</summary>
public sealed partial class ScorerActivation(
    DiscountsDbContext db,
    ScorerModels models,
    ScorerHost host,
    IOptions<FineTuneOptions> options,
    TimeProvider clock,
    ILogger<ScorerActivation> logger,
    ItemEmbeddingStore? itemStore = null)
{
    private readonly ItemEmbeddingStore itemStore = itemStore ?? new ItemEmbeddingStore();

    /// <summary>
    /// Loads and publishes a registered version, then marks it active and the previous one retired. A file that fails
    /// its checksum or its sanity checks throws before the publish, and the old snapshot keeps serving.
    /// </summary>
    /// <returns>How long the reference exchange itself took.</returns>
    public async Task<TimeSpan> ActivateAsync(long modelVersionId, CancellationToken cancellationToken)
    {
        // One swap at a time: two overlapping activations could publish in one order and record in the other, or each
        // retire the other and leave no version marked active; and a registry poll in between would swap the old one back.
        await host.SwapLock.WaitAsync(cancellationToken);
        try
        {
            var version = await db.ModelVersions.AsNoTracking().SingleAsync(m => m.Id == modelVersionId, cancellationToken);
            var swap = await PublishAsync(version, cancellationToken);
            var now = clock.GetUtcNow().UtcDateTime;
            await using var transaction = await db.Database.BeginTransactionAsync(CancellationToken.None);
            await db.ModelVersions.Where(m => m.Status == ModelStatus.Active && m.Id != modelVersionId)
                .ExecuteUpdateAsync(m => m.SetProperty(x => x.Status, ModelStatus.Retired), CancellationToken.None);
            await db.ModelVersions.Where(m => m.Id == modelVersionId)
                .ExecuteUpdateAsync(m => m.SetProperty(x => x.Status, ModelStatus.Active).SetProperty(x => x.ActivatedAt, now), CancellationToken.None);
            await transaction.CommitAsync(CancellationToken.None);
            return swap;
        }
        finally
        {
            host.SwapLock.Release();
        }
    }

    /// <summary>
    /// For nodes sharing one registry: when another node has activated a version this one does not serve, loads it
    /// (checksum and sanity checks included) and publishes it. Does nothing before the startup load has published.
    /// </summary>
    /// <param name="refused">Versions ("id:sha256") this node refused before; they are not read again. A refusal adds to it.</param>
    /// <returns>The version now serving when it swapped, else null.</returns>
    public async Task<ScorerVersion?> FollowRegistryAsync(ISet<string> refused, CancellationToken cancellationToken)
    {
        await host.SwapLock.WaitAsync(cancellationToken);
        try
        {
            var serving = host.ActiveVersion;
            if (serving is null) return null;
            var active = await ActiveVersionQuery().FirstOrDefaultAsync(cancellationToken);
            if (active is null || (active.Id == serving.ModelVersionId && active.Sha256 == serving.Sha256)) return null;
            var key = $"{active.Id}:{active.Sha256}";
            if (refused.Contains(key)) return null;
            try
            {
                await PublishAsync(active, cancellationToken);
            }
            catch (Exception error) when (error is InvalidDataException or IOException or Weights.WeightMismatchException)
            {
                // A file that fails its checksum stays failed; a file not yet visible on the share is retried.
                if (error is not FileNotFoundException and not DirectoryNotFoundException) refused.Add(key);
                throw;
            }

            return host.ActiveVersion;
        }
        finally
        {
            host.SwapLock.Release();
        }
    }

    /// <summary>
    /// At startup: the registry's active version when it loads; else the most recently active earlier version that
    /// loads; else the base model. The registry is corrected only when a
    /// refused file is provably bad for every node (see <see cref="CorrectRegistryAsync"/>). A refused file is logged with the reason.
    /// </summary>
    public async Task LoadAtStartupAsync(CancellationToken cancellationToken)
    {
        await host.SwapLock.WaitAsync(cancellationToken);
        try
        {
            await LoadLastGoodOrBaseAsync(cancellationToken);
        }
        finally
        {
            host.SwapLock.Release();
        }
    }

    private IQueryable<ModelVersion> ActiveVersionQuery() =>
        db.ModelVersions.AsNoTracking().Where(m => m.Status == ModelStatus.Active).OrderByDescending(m => m.ActivatedAt);

    private async Task LoadLastGoodOrBaseAsync(CancellationToken cancellationToken)
    {
        var versions = await db.ModelVersions.Where(m => m.Status == ModelStatus.Active || (m.Status == ModelStatus.Retired && m.ActivatedAt != null))
            .ToListAsync(cancellationToken);
        var ordered = versions.OrderByDescending(m => m.Status == ModelStatus.Active).ThenByDescending(m => m.ActivatedAt).ToList();
        var refused = new List<(ModelVersion Version, bool ProvenBad)>();
        foreach (var version in ordered)
        {
            try
            {
                await PublishAsync(version, cancellationToken);
            }
            catch (Exception error) when (error is InvalidDataException or IOException or Weights.WeightMismatchException)
            {
                LogVersionRefused(logger, version.Id, version.Name, error.Message);
                refused.Add((version, ProvesFileBad(error)));
                continue;
            }

            await CorrectRegistryAsync(refused, serving: version, cancellationToken);
            return;
        }

        await CorrectRegistryAsync(refused, serving: null, cancellationToken);
        if (refused.Count > 0) LogAllRefused(logger, refused.Count);
        await PublishBaseAsync(cancellationToken);
    }

    /// <summary>
    /// A checksum or shape failure is in the shared bytes, so it is true for every node and the registry may retire the
    /// version. A file that is merely missing or unreadable here may be fine for other nodes (a share still syncing, a
    /// local mount problem): then the registry is left alone, this node serves its fallback, and the node monitor keeps
    /// following the registry until the file can be read.
    /// </summary>
    private async Task CorrectRegistryAsync(List<(ModelVersion Version, bool ProvenBad)> refused, ModelVersion? serving, CancellationToken cancellationToken)
    {
        var unreadableActive = refused.FirstOrDefault(r => r.Version.Status == ModelStatus.Active && !r.ProvenBad).Version;
        foreach (var (bad, _) in refused.Where(r => r.Version.Status == ModelStatus.Active && r.ProvenBad)) bad.Status = ModelStatus.Retired;
        if (unreadableActive is not null)
        {
            await db.SaveChangesAsync(cancellationToken);
            LogActiveUnreadable(logger, unreadableActive.Id, unreadableActive.Name, serving?.Name ?? "base");
            return;
        }

        if (serving is not null && serving.Status != ModelStatus.Active)
        {
            serving.Status = ModelStatus.Active;
            if (refused.Count > 0) LogFellBack(logger, serving.Id, serving.Name, refused.Count);
            else LogRestored(logger, serving.Id, serving.Name);
        }

        await db.SaveChangesAsync(cancellationToken);
    }

    private static bool ProvesFileBad(Exception error) => error is InvalidDataException or Weights.WeightMismatchException;

    public async Task PublishBaseAsync(CancellationToken cancellationToken) => host.Publish(await BuildBaseAsync(cancellationToken));

    /// <summary>A snapshot of the base model over the catalogue as it is now, not published.</summary>
    public async Task<ScorerSnapshot> BuildBaseAsync(CancellationToken cancellationToken)
    {
        var items = await CatalogueTexts.LoadAsync(db, cancellationToken);
        var (scorer, sha) = models.CreateBase(dropout: 0);
        return ScorerSnapshot.Build(scorer, items, new ScorerVersion(null, "base", sha), options.Value.ServingMaxSequenceLength,
            new ItemEmbeddingFile(itemStore, models.BaseItemVectorsPath(sha)));
    }

    /// <summary>
    /// A snapshot of a registered version over the catalogue as it is now, not published: the two-tower model, or a
    /// sequence scorer over the base encoder's vectors of the items' texts. The file's sha256 is checked before it is read.
    /// </summary>
    public async Task<ScorerSnapshot> BuildAsync(ModelVersion version, CancellationToken cancellationToken)
    {
        var items = await CatalogueTexts.LoadAsync(db, cancellationToken);
        var scorerVersion = new ScorerVersion(version.Id, version.Name, version.Sha256);
        var maxLength = options.Value.ServingMaxSequenceLength;
        var path = models.FullPath(version.WeightsPath);
        if (!SequenceScorer.IsSequenceFile(path))
        {
            return ScorerSnapshot.Build(models.LoadVersion(version.WeightsPath, version.Sha256), items, scorerVersion, maxLength,
                new ItemEmbeddingFile(itemStore, models.ItemVectorsPath(version.WeightsPath)));
        }

        ScorerModels.VerifySha256(path, version.Sha256);
        var (encoder, baseSha) = models.CreateBase(dropout: 0);
        SequenceScorer sequence;
        long[] trainedIds;
        (double, double) calibration;
        ItemEmbeddingCounts counts;
        try
        {
            var (texts, _, textCounts) = itemStore.Embed(encoder, items, baseSha, maxLength, models.BaseItemVectorsPath(baseSha));
            (sequence, calibration, trainedIds) = SequenceScorer.Load(path, texts, items.Select(i => i.Id).ToList(), encoder.Device);
            counts = textCounts;
        }
        catch
        {
            encoder.Dispose();
            throw;
        }

        return ScorerSnapshot.BuildSequence(sequence, encoder, trainedIds, calibration, items, scorerVersion, maxLength, counts);
    }

    private async Task<TimeSpan> PublishAsync(ModelVersion version, CancellationToken cancellationToken) =>
        host.Publish(await BuildAsync(version, cancellationToken));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model version {ModelVersionId} ({Name}) was refused at startup: {Reason}")]
    private static partial void LogVersionRefused(ILogger logger, long modelVersionId, string name, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Fell back to the last good model version {ModelVersionId} ({Name}) after {Refused} refused; it is now the active version")]
    private static partial void LogFellBack(ILogger logger, long modelVersionId, string name, int refused);

    [LoggerMessage(Level = LogLevel.Warning, Message = "No model version was marked active; serving the most recently active one, {ModelVersionId} ({Name}), and marking it active")]
    private static partial void LogRestored(ILogger logger, long modelVersionId, string name);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The registry's active model version {ModelVersionId} ({Name}) cannot be read on this node; serving {Serving} meanwhile and leaving the registry as it is")]
    private static partial void LogActiveUnreadable(ILogger logger, long modelVersionId, string name, string serving);

    [LoggerMessage(Level = LogLevel.Warning, Message = "No registered model version loaded ({Refused} refused); serving the base model")]
    private static partial void LogAllRefused(ILogger logger, int refused);
}
