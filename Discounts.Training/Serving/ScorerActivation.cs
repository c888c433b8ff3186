using Discounts.Core.Data;
using Discounts.Core.Domain;
using Discounts.Core.Scoring;
using Discounts.Training.FineTuning;
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
    ILogger<ScorerActivation> logger)
{
    /// <summary>
    /// Loads and publishes a registered version, then marks it active and the previous one retired. A file that fails
    /// its checksum or its sanity checks throws before the publish, and the old snapshot keeps serving.
    /// </summary>
    /// <returns>How long the reference exchange itself took.</returns>
    public async Task<TimeSpan> ActivateAsync(long modelVersionId, CancellationToken cancellationToken)
    {
        // Held until the registry says so too: a registry poll in between would otherwise swap the old version back.
        await host.SwapLock.WaitAsync(cancellationToken);
        try
        {
            var version = await db.ModelVersions.SingleAsync(m => m.Id == modelVersionId, cancellationToken);
            var swap = await PublishAsync(version, cancellationToken);
            var now = clock.GetUtcNow().UtcDateTime;
            foreach (var active in await db.ModelVersions.Where(m => m.Status == ModelStatus.Active && m.Id != version.Id).ToListAsync(cancellationToken))
                active.Status = ModelStatus.Retired;
            version.Status = ModelStatus.Active;
            version.ActivatedAt = now;
            await db.SaveChangesAsync(CancellationToken.None);
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

    /// <summary>At startup: the registry's active version when it loads, else the base model.</summary>
    public async Task LoadAtStartupAsync(CancellationToken cancellationToken)
    {
        await host.SwapLock.WaitAsync(cancellationToken);
        try
        {
            await LoadActiveOrBaseAsync(cancellationToken);
        }
        finally
        {
            host.SwapLock.Release();
        }
    }

    private IQueryable<ModelVersion> ActiveVersionQuery() =>
        db.ModelVersions.AsNoTracking().Where(m => m.Status == ModelStatus.Active).OrderByDescending(m => m.ActivatedAt);

    private async Task LoadActiveOrBaseAsync(CancellationToken cancellationToken)
    {
        var active = await ActiveVersionQuery().FirstOrDefaultAsync(cancellationToken);
        if (active is not null)
        {
            try
            {
                await PublishAsync(active, cancellationToken);
                return;
            }
            catch (Exception error) when (error is InvalidDataException or IOException or Weights.WeightMismatchException)
            {
                LogActiveRefused(logger, active.Id, error.Message);
            }
        }
        await PublishBaseAsync(cancellationToken);
    }

    public async Task PublishBaseAsync(CancellationToken cancellationToken)
    {
        var items = await TrainingData.LoadCatalogueAsync(db, cancellationToken);
        var (scorer, sha) = models.CreateBase(dropout: 0);
        host.Publish(ScorerSnapshot.Build(scorer, items, new ScorerVersion(null, "base", sha), options.Value.ServingMaxSequenceLength));
    }

    private async Task<TimeSpan> PublishAsync(ModelVersion version, CancellationToken cancellationToken)
    {
        var items = await TrainingData.LoadCatalogueAsync(db, cancellationToken);
        var scorer = models.LoadVersion(version.WeightsPath, version.Sha256);
        var snapshot = ScorerSnapshot.Build(scorer, items, new ScorerVersion(version.Id, version.Name, version.Sha256), options.Value.ServingMaxSequenceLength);
        return host.Publish(snapshot);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Active model version {ModelVersionId} was refused at startup ({Reason}); serving the base model")]
    private static partial void LogActiveRefused(ILogger logger, long modelVersionId, string reason);
}
