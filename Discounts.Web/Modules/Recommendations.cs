using Discounts.Core.Recommending;
using Discounts.Web.Features.Recommendations;

using Discounts.Web.Infrastructure;

namespace Discounts.Web.Modules;

public static class RecommendationsSetup
{
    public static IServiceCollection AddDiscountsRecommendations(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RecommendationOptions>().Bind(configuration.GetSection(RecommendationOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<Recommender>();
        services.AddSingleton<RecommendationCache>();
        services.AddSingleton<RankingReads>();
        services.AddSingleton<ImpressionLog>();
        services.AddHostedService(sp => sp.GetRequiredService<ImpressionLog>());
        // After the database initialiser (registered earlier), so the schema exists and the demo shop is seeded.
        services.AddHostedService<RecommendationRefresher>();
        services.AddTransient<FitRecommendationBlend.Job>();
        return services;
    }
}
