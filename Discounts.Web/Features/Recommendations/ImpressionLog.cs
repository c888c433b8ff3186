using System.Collections.Concurrent;
using Discounts.Core.Data;
using Discounts.Core.Domain;

namespace Discounts.Web.Features.Recommendations;

/// <summary>
/// Recommendation impressions are written in batches off the request path, so a list costs no database write while
/// it is served. Anything that reads impressions (attributing an event, the outcome report) flushes first.
/// </summary>
public sealed partial class ImpressionLog(IServiceScopeFactory scopes, ILogger<ImpressionLog> logger) : BackgroundService
{
    private readonly ConcurrentQueue<RecommendationImpression> pending = new();
    private readonly SemaphoreSlim writing = new(1, 1);

    public void Add(IEnumerable<RecommendationImpression> impressions)
    {
        foreach (var impression in impressions)
        {
            pending.Enqueue(impression);
        }
    }

    /// <summary>Writes everything queued so far.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        await writing.WaitAsync(cancellationToken);
        try
        {
            var batch = new List<RecommendationImpression>();
            while (batch.Count < 50_000 && pending.TryDequeue(out var impression))
            {
                batch.Add(impression);
            }

            if (batch.Count == 0)
            {
                return;
            }

            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<DiscountsDbContext>();
            db.RecommendationImpressions.AddRange(batch);
            await db.SaveChangesAsync(CancellationToken.None);
        }
        finally
        {
            writing.Release();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250), stoppingToken);
                await FlushAsync(stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (Exception error)
            {
                LogWriteFailed(logger, error);
            }
        }

        await FlushAsync(CancellationToken.None);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Writing recommendation impressions failed")]
    private static partial void LogWriteFailed(ILogger logger, Exception error);
}
