using Discounts.Core.Data;
using Discounts.Web.Infrastructure;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace Discounts.Web.Features.Items;

public static class ListItems
{
    public sealed record Query(int Limit, string? Cursor) : IQuery<Result>;

    public sealed record Result(IReadOnlyList<ItemSummary> Items, string? NextCursor);

    public sealed record ItemSummary(
        string Id, string Title, string Description, string Category, string Brand, long PriceCents, long CostCents, DateTime UpdatedAt);

    public sealed class Validator : AbstractValidator<Query>
    {
        public Validator()
        {
            RuleFor(q => q.Limit).ValidLimit();
            RuleFor(q => q.Cursor).ValidCursor();
        }
    }

    public sealed class Handler(DiscountsDbContext db) : IQueryHandler<Query, Result>
    {
        public async ValueTask<Result> Handle(Query query, CancellationToken cancellationToken)
        {
            var (page, next) = await db.Items.AsNoTracking().PageAsync(query.Cursor, query.Limit, i => new ItemSummary(i.ExternalId, i.Title, i.Description, i.Category, i.Brand, i.PriceCents, i.CostCents, i.UpdatedAt), cancellationToken);
            return new Result(page, next);
        }
    }

    public static void Map(RouteGroupBuilder group) =>
        group.MapGet("", async (int? limit, string? cursor, ISender sender, CancellationToken cancellationToken) =>
                TypedResults.Ok(await sender.Send(new Query(limit ?? Paging.DefaultLimit, cursor), cancellationToken)))
            .WithName("ListItems")
            .WithSummary("List catalogue items, a page at a time")
            .WithDescription("Items in insertion order. Pass the returned nextCursor as cursor to read the next page.")
            .RequireAuthorization(Policies.Read)
            .ProducesValidationProblem();
}
