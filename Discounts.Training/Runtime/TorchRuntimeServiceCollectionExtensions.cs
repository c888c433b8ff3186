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
            .ValidateOnStart();
        services.AddSingleton<TorchRuntime>();
        services.AddSingleton<BaseModelLoader>();
        services.AddHostedService<TorchRuntimeStartup>();
        return services;
    }
}
