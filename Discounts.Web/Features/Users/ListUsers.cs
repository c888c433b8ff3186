using Discounts.Core.Data;
using Discounts.Web.Infrastructure;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace Discounts.Web.Features.Users;

public static class ListUsers
{
    public sealed record Query(int Limit, string? Cursor) : IQuery<Result>;

    public sealed record Result(IReadOnlyList<UserSummary> Users, string? NextCursor);

    public sealed record UserSummary(string Id, DateTime CreatedAt, bool ConsentPersonalisation, bool ConsentMarketing);

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
            var (page, next) = await db.Users.AsNoTracking().PageAsync(query.Cursor, query.Limit, u => new UserSummary(u.ExternalId, u.CreatedAt, u.ConsentPersonalisation, u.ConsentMarketing), cancellationToken);
            return new Result(page, next);
        }
    }

    public static void Map(RouteGroupBuilder group) =>
        group.MapGet("", async (int? limit, string? cursor, ISender sender, CancellationToken cancellationToken) =>
                TypedResults.Ok(await sender.Send(new Query(limit ?? Paging.DefaultLimit, cursor), cancellationToken)))
            .WithName("ListUsers")
            .WithSummary("List users, a page at a time")
            .WithDescription("Users in insertion order, without any text they wrote. Pass nextCursor as cursor for the next page.")
            .RequireAuthorization(Policies.Read)
            .ProducesValidationProblem();
}
