using Discounts.Core.Data;
using Discounts.Core.Domain;
using Discounts.Web.Infrastructure;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace Discounts.Web.Features.Discounts;

/// <summary>
/// How quotes spread across customer segments, so an auditor can see who gets discounts. The model holds no protected
/// attribute (no age, gender or location), so segments are the behavioural and commercial ones the shop controls.
/// </summary>
public static class AuditQuotes
{
    public enum Segment
    {
        Tenure,
        Category,
        PriceBand,
        Consent,
    }

    public sealed record Query(string? By, DateTime? Since) : IQuery<Result>;

    public sealed record Result(Segment By, DateTime Since, int Quotes, IReadOnlyList<SegmentRow> Segments);

    public sealed record SegmentRow(string Segment, int Quotes, double DiscountedShare, double MeanPercent, double RedeemedShare, long DiscountGivenCents);

    public sealed class Validator : AbstractValidator<Query>
    {
        public Validator()
        {
            RuleFor(q => q.By).Must(by => by is null || TryParse(by, out _))
                .WithMessage($"by must be one of: {string.Join(", ", Enum.GetNames<Segment>().Select(n => char.ToLowerInvariant(n[0]) + n[1..]))}.");
            RuleFor(q => q.Since).LessThan(DateTime.UtcNow.AddDays(1)).When(q => q.Since is not null);
        }
    }

    private static bool TryParse(string text, out Segment segment) =>
        Enum.TryParse(text, ignoreCase: true, out segment) && Enum.IsDefined(segment) && !int.TryParse(text, out _);

    public sealed class Handler(DiscountsDbContext db, TimeProvider clock) : IQueryHandler<Query, Result>
    {
        public async ValueTask<Result> Handle(Query query, CancellationToken cancellationToken)
        {
            var by = query.By is null ? Segment.Tenure : Enum.Parse<Segment>(query.By, ignoreCase: true);
            var since = (query.Since ?? clock.GetUtcNow().UtcDateTime.AddDays(-30)).ToUniversalTime();
            var quotes = await db.Offers.AsNoTracking()
                .Where(o => o.CreatedAt >= since)
                .Select(o => new
                {
                    o.DiscountPercent, o.Status, o.ListPriceCents, o.FinalPriceCents, o.CreatedAt,
                    o.Item!.Category, UserCreatedAt = o.User!.CreatedAt, o.User.ConsentMarketing,
                })
                .ToListAsync(cancellationToken);
            var segments = quotes
                .GroupBy(q => by switch
                {
                    Segment.Tenure => (q.CreatedAt - q.UserCreatedAt).TotalDays < 30 ? "new (under 30 days)" : "returning",
                    Segment.Category => q.Category,
                    Segment.PriceBand => q.ListPriceCents switch
                    {
                        < 1_000 => "under 10",
                        < 5_000 => "10 to 50",
                        < 20_000 => "50 to 200",
                        _ => "200 and over",
                    },
                    _ => q.ConsentMarketing ? "marketing consent" : "no marketing consent",
                })
                .Select(g => new SegmentRow(
                    g.Key,
                    g.Count(),
                    Math.Round(g.Average(q => q.DiscountPercent > 0 ? 1.0 : 0), 4),
                    Math.Round(g.Average(q => (double)q.DiscountPercent), 2),
                    Math.Round(g.Average(q => q.Status == OfferStatus.Redeemed ? 1.0 : 0), 4),
                    g.Where(q => q.Status == OfferStatus.Redeemed).Sum(q => q.ListPriceCents - q.FinalPriceCents)))
                .OrderBy(s => s.Segment, StringComparer.Ordinal)
                .ToList();
            return new Result(by, since, quotes.Count, segments);
        }
    }

    public static void Map(RouteGroupBuilder group) =>
        group.MapGet("/audit", async (string? by, DateTime? since, ISender sender, CancellationToken cancellationToken) =>
                TypedResults.Ok(await sender.Send(new Query(by, since), cancellationToken)))
            .WithName("AuditQuotes")
            .WithSummary("Quote distribution by customer segment")
            .WithDescription("Per segment (tenure, category, priceBand or consent): quotes, share discounted, mean percent, share redeemed and discount given, since a UTC time (default: 30 days ago).")
            .RequireAuthorization(Policies.Read)
            .ProducesValidationProblem();
}
