using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Discounts.Training.Runtime;

public static class TorchRuntimeServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="TorchRuntime"/> with <see cref="TrainingOptions"/> bound from the <c>Training</c>
    /// section (validated at start), a hosted service that initialises torch and logs the device, and
    /// <see cref="BaseModelLoader"/>.
    /// </summary>
    public static IServiceCollection AddTorchRuntime(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<TrainingOptions>()
            .Bind(configuration.GetSection(TrainingOptions.SectionName))
            .ValidateDataAnnotations()
            // A wrong base model path stops the host at start, naming the setting, instead of failing the first load.
            .Validate(o => string.IsNullOrWhiteSpace(o.BaseModelPath) || Weights.HuggingFaceBertFolder.MissingFiles(o.BaseModelPath).Count == 0,
                "Training:BaseModelPath must be a Hugging Face BERT folder holding config.json, vocab.txt and model.safetensors; leave it empty to use the packaged all-MiniLM-L6-v2.")
            .ValidateOnStart();
        services.AddSingleton<TorchRuntime>();
        services.AddSingleton<BaseModelLoader>();
        services.AddHostedService<TorchRuntimeStartup>();
        return services;
    }
}
