using Discounts.Core.Data;
using Discounts.Core.Profiling;
using Discounts.Web.Features.Profiles;
using Microsoft.Extensions.Options;

using Discounts.Web.Infrastructure;

namespace Discounts.Web.Modules;

public static class ProfilingSetup
{
    public static IServiceCollection AddDiscountsProfiling(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ProfilingOptions>().Bind(configuration.GetSection(ProfilingOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(sp => new TextModelStore(sp.GetRequiredService<DataPaths>()));
        services.AddScoped(sp => new ProfileBuilder(
            sp.GetRequiredService<DiscountsDbContext>(),
            sp.GetRequiredService<TextModelStore>(),
            sp.GetRequiredService<IOptions<ProfilingOptions>>().Value,
            sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<ProfileRefreshScheduler>();
        services.AddScoped<ProfileJobs>();
        // After the database initialiser (registered earlier), so the schema exists and the demo shop is seeded.
        services.AddHostedService<ProfileStartup>();
        return services;
    }
}
