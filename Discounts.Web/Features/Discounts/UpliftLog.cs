using Discounts.Core.Data;
using Discounts.Core.Discounting;
using Discounts.Core.Domain;
using Discounts.Core.Profiling;
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
    /// under the offer or while it stood. Behaviour is read as of <paramref name="asOf"/> with the row's own offer left
    /// out; texts only up to the offer's time (when <c>textFeatures</c>, <see cref="DiscountingOptions.TextFeatures"/>, is
    /// on; off, the text features are 0); the scorer's p(buy) is the one logged with the offer.
    /// </summary>
    public static async Task<List<UpliftTraining.PricedRow>> LoadRowsAsync(
        DiscountsDbContext db, TextModelStore textModels, bool textFeatures, IReadOnlyList<int> ladder, DateTime asOf, CancellationToken cancellationToken)
    {
        var logged = await Randomised(db)
            .OrderBy(o => o.CreatedAt).ThenBy(o => o.Id)
            .Select(o => new
            {
                o.Id, o.UserId, o.ItemId, o.Item!.Category, o.ListPriceCents, o.Item.CostCents, o.DiscountPercent, o.CreatedAt, o.ScorerProbability,
                Bought = db.Events.Any(e => e.Kind == EventKind.Purchase && e.UserId == o.UserId && e.ItemId == o.ItemId
                                            && (e.OfferId == o.Id || (e.OccurredAt >= o.CreatedAt && e.OccurredAt <= o.ExpiresAt))),
            })
            .ToListAsync(cancellationToken);
        var history = await UpliftHistory.LoadAsync(db, userIds: null, cancellationToken);
        var text = textFeatures ? await TextMatcherAsync(db, textModels, logged.Select(o => o.ItemId).Distinct().ToList(), cancellationToken) : TextMatcher.None;
        return UpliftTraining.PricedRows(
            logged.Select(o => new UpliftTraining.LoggedOffer(
                o.Id, o.UserId, o.ItemId, o.Category, o.ListPriceCents, o.CostCents, o.DiscountPercent, o.CreatedAt, o.Bought, o.ScorerProbability)),
            history,
            ladder,
            asOf,
            text);
    }

    /// <summary>The active text model with the given items' texts: what training, evaluation and quotes all match users' words with.</summary>
    public static async Task<TextMatcher> TextMatcherAsync(DiscountsDbContext db, TextModelStore textModels, IReadOnlyCollection<long> itemIds, CancellationToken cancellationToken)
    {
        var model = await textModels.GetActiveAsync(db, cancellationToken);
        if (model is null)
        {
            return TextMatcher.None;
        }

        var items = await db.Items.AsNoTracking().Where(i => itemIds.Contains(i.Id))
            .Select(i => new ItemText(i.Id, i.Title, i.Category, i.Brand, i.Description))
            .ToListAsync(cancellationToken);
        return new TextMatcher(model, items);
    }
}
