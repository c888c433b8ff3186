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

    /// <summary>At startup: the registry's active version when it loads, else the base model.</summary>
    public async Task LoadAtStartupAsync(CancellationToken cancellationToken)
    {
        var active = await db.ModelVersions.AsNoTracking().Where(m => m.Status == ModelStatus.Active)
            .OrderByDescending(m => m.ActivatedAt).FirstOrDefaultAsync(cancellationToken);
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
