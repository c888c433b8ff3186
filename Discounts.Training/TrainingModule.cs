using Discounts.Training.FineTuning;
using Discounts.Training.Runtime;
using Discounts.Training.Scorer;
using Discounts.Training.Serving;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Discounts.Training;

/// <summary>Training's services: the torch runtime, the scorer and fine-tuning. The host adds the job server's entry points.</summary>
public static class TrainingModule
{
    /// <summary>The torch runtime (device and threads) and <see cref="AddScorer"/>.</summary>
    public static IServiceCollection AddDiscountsTraining(this IServiceCollection services, IConfiguration configuration) =>
        services.AddTorchRuntime(configuration).AddScorer(configuration);

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
        services.AddScoped<SequenceFineTune>();
        services.AddHostedService<ScorerStartup>();
        services.AddHostedService<ItemVectorRefresh>();
        return services;
    }
}
