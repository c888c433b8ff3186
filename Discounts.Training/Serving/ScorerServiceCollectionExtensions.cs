using Discounts.Training.FineTuning;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Discounts.Training.Serving;

public static class ScorerServiceCollectionExtensions
{
    /// <summary>The scorer host (also as <see cref="Core.Scoring.IScorer"/>), fine-tuning services, and a startup load of the active version.</summary>
    public static IServiceCollection AddScorer(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<FineTuneOptions>()
            .Bind(configuration.GetSection(FineTuneOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<ScorerHost>();
        services.AddSingleton<Core.Scoring.IScorer>(sp => sp.GetRequiredService<ScorerHost>());
        services.AddSingleton<ScorerModels>();
        services.AddSingleton<ItemEmbeddingStore>();
        services.AddSingleton<TrainingCancellations>();
        services.AddScoped<ScorerActivation>();
        services.AddScoped<FineTuneRunner>();
        services.AddHostedService<ScorerStartup>();
        services.AddHostedService<ItemVectorRefresh>();
        return services;
    }
}

/// <summary>Loads the active version (else the base model) in the background, so a slow load never delays the host's start.</summary>
internal sealed partial class ScorerStartup(IServiceScopeFactory scopes, ILogger<ScorerStartup> logger) : BackgroundService
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
