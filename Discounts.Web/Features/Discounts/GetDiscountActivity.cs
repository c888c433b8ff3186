using Discounts.Core.Data;
using Discounts.Core.Domain;
using Discounts.Web.Infrastructure;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace Discounts.Web.Features.Discounts;

/// <summary>Quotes and redemptions per UTC day, and each campaign's spend against its budget.</summary>
public static class GetDiscountActivity
{
    public sealed record Query(int Days) : IQuery<Result>;

    public sealed record Result(DateTime Since, IReadOnlyList<Day> Days, IReadOnlyList<CampaignSpend> Campaigns);

    public sealed record Day(DateOnly Date, int Quotes, int Discounted, int Redemptions, long DiscountGivenCents);

    public sealed record CampaignSpend(string Id, string Name, long BudgetCents, long SpentCents, bool IsActive, DateTime StartsAt, DateTime? EndsAt);

    public sealed class Validator : AbstractValidator<Query>
    {
        public Validator() => RuleFor(q => q.Days).InclusiveBetween(1, 3_650);
    }

    public sealed class Handler(DiscountsDbContext db, TimeProvider clock) : IQueryHandler<Query, Result>
    {
        public async ValueTask<Result> Handle(Query query, CancellationToken cancellationToken)
        {
            var since = clock.GetUtcNow().UtcDateTime.Date.AddDays(1 - query.Days);
            var quoted = await db.Offers.AsNoTracking().Where(o => o.CreatedAt >= since)
                .Select(o => new { o.CreatedAt, o.DiscountPercent, o.AmountOffCents })
                .ToListAsync(cancellationToken);
            var redeemed = await db.Offers.AsNoTracking().Where(o => o.RedeemedAt != null && o.RedeemedAt >= since)
                .Select(o => new { RedeemedAt = o.RedeemedAt!.Value, Given = o.ListPriceCents - o.FinalPriceCents })
                .ToListAsync(cancellationToken);
            var quotesByDay = quoted.GroupBy(o => DateOnly.FromDateTime(o.CreatedAt)).ToDictionary(g => g.Key);
            var redemptionsByDay = redeemed.GroupBy(o => DateOnly.FromDateTime(o.RedeemedAt)).ToDictionary(g => g.Key);
            var first = DateOnly.FromDateTime(since);
            var days = Enumerable.Range(0, query.Days).Select(offset =>
            {
                var date = first.AddDays(offset);
                var quotes = quotesByDay.GetValueOrDefault(date);
                var redemptions = redemptionsByDay.GetValueOrDefault(date);
                return new Day(
                    date,
                    quotes?.Count() ?? 0,
                    quotes?.Count(o => o.DiscountPercent > 0 || o.AmountOffCents > 0) ?? 0,
                    redemptions?.Count() ?? 0,
                    redemptions?.Sum(o => o.Given) ?? 0);
            }).ToList();
            var campaigns = await db.Campaigns.AsNoTracking().OrderBy(c => c.Id)
                .Select(c => new CampaignSpend(c.ExternalId, c.Name, c.BudgetCents, c.SpentCents, c.IsActive, c.StartsAt, c.EndsAt))
                .ToListAsync(cancellationToken);
            return new Result(since, days, campaigns);
        }
    }

    public static void Map(RouteGroupBuilder group) =>
        group.MapGet("/activity", async (int? days, ISender sender, CancellationToken cancellationToken) =>
                TypedResults.Ok(await sender.Send(new Query(days ?? 90), cancellationToken)))
            .WithName("GetDiscountActivity")
            .WithSummary("Quotes and redemptions per day, and campaign spend against budget")
            .WithDescription("One row per UTC day over the last `days` days (default 90, at most 3 650), and every campaign's budget and spend in cents.")
            .RequireAuthorization(Policies.Read)
            .ProducesValidationProblem();
}
