using Discounts.Core.Data;
using Discounts.Core.Discounting;
using Discounts.Core.Domain;
using Microsoft.EntityFrameworkCore;

namespace Discounts.Web.Features.Discounts;

/// <summary>
/// The randomised (exploration) percent-off offers of the log as learner rows, oldest first: what both the train-uplift
/// job and the hold-out evaluation learn from, read one way so the evaluation measures what the job fits.
/// </summary>
public static class UpliftLog
{
    /// <summary>The offers the uplift model may learn from: randomised, percent off.</summary>
    public static IQueryable<Offer> Randomised(DiscountsDbContext db) =>
        db.Offers.AsNoTracking().Where(o => o.IsExploration && o.Kind == OfferKind.PercentOff);

    /// <summary>
    /// One row per randomised offer, ordered by when it was made; bought means a purchase of the item by the user
    /// under the offer or while it stood. Features are read as of <paramref name="asOf"/> with the row's own offer left out.
    /// </summary>
    public static async Task<List<UpliftTraining.PricedRow>> LoadRowsAsync(DiscountsDbContext db, IReadOnlyList<int> ladder, DateTime asOf, CancellationToken cancellationToken)
    {
        var logged = await Randomised(db)
            .OrderBy(o => o.CreatedAt).ThenBy(o => o.Id)
            .Select(o => new
            {
                o.Id, o.UserId, o.ItemId, o.Item!.Category, o.ListPriceCents, o.Item.CostCents, o.DiscountPercent, o.CreatedAt,
                Bought = db.Events.Any(e => e.Kind == EventKind.Purchase && e.UserId == o.UserId && e.ItemId == o.ItemId
                                            && (e.OfferId == o.Id || (e.OccurredAt >= o.CreatedAt && e.OccurredAt <= o.ExpiresAt))),
            })
            .ToListAsync(cancellationToken);
        var history = await UpliftHistory.LoadAsync(db, userIds: null, cancellationToken);
        return UpliftTraining.PricedRows(
            logged.Select(o => new UpliftTraining.LoggedOffer(o.Id, o.UserId, o.ItemId, o.Category, o.ListPriceCents, o.CostCents, o.DiscountPercent, o.CreatedAt, o.Bought)),
            history,
            ladder,
            asOf);
    }
}
