using Discounts.Core.Discounting;
using Discounts.Web.Features.Discounts;
using Hangfire;

using Discounts.Web.Infrastructure;

namespace Discounts.Web.Modules;

public static class DiscountingSetup
{
    public static IServiceCollection AddDiscountsDiscounting(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<DiscountingOptions>().Bind(configuration.GetSection(DiscountingOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<UpliftModelStore>();
        services.AddScoped<IDiscountQuoter, QuoteDiscount.Quoter>();
        services.AddSingleton<EvaluateDiscountPolicy.ResultCache>();
        services.AddSingleton<EvaluateUpliftHoldout.ResultCache>();
        services.AddTransient<TrainUpliftModel.Job>();
        return services;
    }

    /// <summary>The uplift model is retrained on the growing randomised log (daily by default, Discounting:UpliftTrainingCron).</summary>
    public static void ScheduleDiscountingJobs(this IRecurringJobManager recurring, DiscountingOptions options) =>
        recurring.AddOrUpdate<TrainUpliftModel.Job>(TrainUpliftModel.RecurringJobId, Queues.Default, job => job.RunAsync(CancellationToken.None), options.UpliftTrainingCron);
}
