using Discounts.Core.Data;
using Discounts.Web.Infrastructure;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace Discounts.Web.Features.Dashboard;

/// <summary>How much the service holds: the overview page's figures.</summary>
public static class GetShopCounts
{
    public sealed record Query : IQuery<Result>;

    public sealed record Result(int Items, int Users, int Texts, int Events, int Offers, int TrainingRuns, int ModelVersions);

    public sealed class Validator : AbstractValidator<Query>;

    public sealed class Handler(DiscountsDbContext db) : IQueryHandler<Query, Result>
    {
        public async ValueTask<Result> Handle(Query query, CancellationToken cancellationToken) => new(
            await db.Items.CountAsync(cancellationToken),
            await db.Users.CountAsync(cancellationToken),
            await db.UserTexts.CountAsync(cancellationToken),
            await db.Events.CountAsync(cancellationToken),
            await db.Offers.CountAsync(cancellationToken),
            await db.TrainingRuns.CountAsync(cancellationToken),
            await db.ModelVersions.CountAsync(cancellationToken));
    }

    public static void Map(RouteGroupBuilder group) =>
        group.MapGet("/counts", async (ISender sender, CancellationToken cancellationToken) =>
                TypedResults.Ok(await sender.Send(new Query(), cancellationToken)))
            .WithName("GetShopCounts")
            .WithSummary("Counts of items, users, texts, events, offers, runs and model versions")
            .WithDescription("What the service holds now.")
            .RequireAuthorization(Policies.Read);
}
