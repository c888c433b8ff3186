using Discounts.Web.Features.Profiles;

namespace Discounts.Web.Modules;

public static class ProfilingSetup
{
    /// <summary>The job server's side of profiling: the refresh scheduler, its jobs and the first build at start.</summary>
    public static IServiceCollection AddDiscountsProfilingJobs(this IServiceCollection services)
    {
        services.AddSingleton<ProfileRefreshScheduler>();
        services.AddScoped<ProfileJobs>();
        // After the database initialiser (registered earlier, with Core), so the schema exists and the demo shop is seeded.
        services.AddHostedService<ProfileStartup>();
        return services;
    }
}
