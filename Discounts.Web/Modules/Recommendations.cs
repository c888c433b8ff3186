using Discounts.Core.Serving;
using Discounts.Web.Features.Recommendations;

namespace Discounts.Web.Modules;

public static class RecommendationsSetup
{
    /// <summary>The job server's side of recommendations: the blend fit job and the queue Core's serving state asks it through.</summary>
    public static IServiceCollection AddDiscountsRecommendationJobs(this IServiceCollection services)
    {
        services.AddSingleton<IBlendFitQueue, FitRecommendationBlend.Queue>();
        services.AddTransient<FitRecommendationBlend.Job>();
        return services;
    }
}
