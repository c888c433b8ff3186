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
            var after = Paging.ReadCursor(query.Cursor);
            var rows = await db.Users.AsNoTracking()
                .Where(u => u.Id > after)
                .OrderBy(u => u.Id)
                .Take(query.Limit + 1)
                .Select(u => new { u.Id, Summary = new UserSummary(u.ExternalId, u.CreatedAt, u.ConsentPersonalisation, u.ConsentMarketing) })
                .ToListAsync(cancellationToken);
            return new Result(rows.Take(query.Limit).Select(r => r.Summary).ToList(), Paging.NextCursor(rows, query.Limit, r => r.Id));
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
