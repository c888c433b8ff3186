using Discounts.Core.Recommending;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Discounts.Core.Serving;

/// <summary>Keeps the index current and makes sure the serving scorer version has a fitted blend.</summary>
public sealed partial class RecommendationRefresher(RecommendationService recommender, IOptions<RecommendationOptions> options, ILogger<RecommendationRefresher> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        var lastRefresh = DateTime.MinValue;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (DateTime.UtcNow - lastRefresh >= TimeSpan.FromSeconds(options.Value.RefreshSeconds))
                {
                    await recommender.RefreshAsync(force: false, stoppingToken);
                    lastRefresh = DateTime.UtcNow;
                }

                await recommender.EnsureBlendAsync(stoppingToken);
            }
            catch (Exception error) when (error is not OperationCanceledException)
            {
                LogRefreshFailed(logger, error);
            }

            // Checked often (it is cheap), so a newly activated scorer gets its blend fitted within seconds.
            await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refreshing the recommendation index failed")]
    private static partial void LogRefreshFailed(ILogger logger, Exception error);
}
