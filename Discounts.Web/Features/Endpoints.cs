using Discounts.Web.Features.Dashboard;
using Discounts.Web.Features.Discounts;
using Discounts.Web.Features.Events;
using Discounts.Web.Features.Items;
using Discounts.Web.Features.Models;
using Discounts.Web.Features.Training;
using Discounts.Web.Features.Profiles;
using Discounts.Web.Features.Recommendations;
using Discounts.Web.Features.Texts;
using Discounts.Web.Features.Users;

namespace Discounts.Web.Features;

/// <summary>One route group per slice folder; each slice maps its own endpoint into it.</summary>
public static class Endpoints
{
    public static void MapDiscountsApi(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup("/api");

        var items = api.MapGroup("/items").WithTags("Items");
        ListItems.Map(items);
        UpsertItem.Map(items);
        UpsertItems.Map(items);

        var users = api.MapGroup("/users").WithTags("Users");
        ListUsers.Map(users);
        UpsertUser.Map(users);
        GetUserProfile.Map(users);
        EraseUser.Map(users);

        var events = api.MapGroup("/events").WithTags("Events");
        IngestEvents.Map(events);

        var texts = api.MapGroup("/texts").WithTags("Texts");
        IngestTexts.Map(texts);

        var profiles = api.MapGroup("/profiles").WithTags("Profiles");
        RebuildProfiles.Map(profiles);

        var discounts = api.MapGroup("/discounts").WithTags("Discounts");
        QuoteDiscount.Map(discounts);
        RedeemOffer.Map(discounts);
        TrainUpliftModel.Map(discounts);
        EvaluateDiscountPolicy.Map(discounts);
        AuditQuotes.Map(discounts);
        GetDiscountActivity.Map(discounts);
        EvaluateUpliftHoldout.Map(discounts);

        var training = api.MapGroup("/training").WithTags("Training");
        StartTrainingRun.Map(training);
        CancelTrainingRun.Map(training);
        ListTrainingRuns.Map(training);
        GetTrainingRun.Map(training);
        GetTrainingLoss.Map(training);
        GetTrainingMetrics.Map(training);

        var models = api.MapGroup("/models").WithTags("Models");
        ListModels.Map(models);
        ActivateModel.Map(models);
        ListModelNodes.Map(models);

        var dashboard = api.MapGroup("/dashboard").WithTags("Dashboard");
        GetShopCounts.Map(dashboard);

        var recommendations = api.MapGroup("").WithTags("Recommendations");
        GetRecommendations.Map(recommendations);
        GetRecommendationOutcomes.Map(recommendations);
    }
}
