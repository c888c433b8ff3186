using Discounts.Core.Data;
using Discounts.Core.Scoring;
using Discounts.Training.Scorer;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Discounts.Training.Serving;

/// <summary>
/// Keeps the serving snapshot's item vectors current between builds: when the catalogue's count or latest update time
/// moves (or another version starts serving), the items added or edited since are embedded, and only those.
/// </summary>
internal sealed partial class ItemVectorRefresh(
    IServiceScopeFactory scopes,
    ScorerHost host,
    IOptions<FineTuneOptions> options,
    ILogger<ItemVectorRefresh> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var seconds = options.Value.ServingItemRefreshSeconds;
        if (seconds == 0) return;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(seconds));
        Stamp? seen = null;
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                if (host.ActiveVersion is not { } version) continue;
                await using var scope = scopes.CreateAsyncScope();
                var db = scope.ServiceProvider.GetRequiredService<DiscountsDbContext>();
                var stamp = new Stamp(version, await db.Items.CountAsync(stoppingToken), await db.Items.MaxAsync(i => (DateTime?)i.UpdatedAt, stoppingToken));
                if (stamp == seen) continue;
                var items = await CatalogueTexts.LoadAsync(db, stoppingToken);
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                var embedded = host.EmbedChangedItems(items);
                seen = stamp;
                if (embedded > 0) LogEmbedded(logger, embedded, version.Name, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
            catch (Exception error) when (error is not OperationCanceledException)
            {
                // A failed pass is retried at the next tick: the stamp was not recorded.
                LogFailed(logger, error);
            }
        }
    }

    private sealed record Stamp(ScorerVersion Version, int Items, DateTime? ItemsUpdated);

    [LoggerMessage(Level = LogLevel.Information, Message = "Embedded {Items} items added or edited since scorer {Name} loaded, in {Milliseconds:F0} ms")]
    private static partial void LogEmbedded(ILogger logger, int items, string name, double milliseconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Embedding items added since the scorer loaded failed; retrying at the next check")]
    private static partial void LogFailed(ILogger logger, Exception error);
}
