using Discounts.Core.Discounting;
using Discounts.Web.Features.Discounts;
using Hangfire;

using Discounts.Web.Infrastructure;

namespace Discounts.Web.Modules;

public static class DiscountingSetup
{
    /// <summary>The discount slices' services: the quoter other slices price through, result caches and the uplift job.</summary>
    public static IServiceCollection AddDiscountsDiscountingSlices(this IServiceCollection services)
    {
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
