using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

using Discounts.Training.Scorer;

namespace Discounts.Training.Serving;

/// <summary>Loads the active version (else the base model) in the background, so a slow load never delays the host's start.</summary>
public sealed partial class ScorerStartup(IServiceScopeFactory scopes, ILogger<ScorerStartup> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            await scope.ServiceProvider.GetRequiredService<ScorerActivation>().LoadAtStartupAsync(stoppingToken);
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            LogLoadFailed(logger, error);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "The scorer could not be loaded at startup")]
    private static partial void LogLoadFailed(ILogger logger, Exception error);
}
