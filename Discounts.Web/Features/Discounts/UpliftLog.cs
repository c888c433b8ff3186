using Discounts.Core.Data;
using Discounts.Core.Discounting;
using Discounts.Core.Domain;
using Discounts.Core.Profiling;
using Discounts.Core.Scoring;
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
    /// on; off, the text features are 0); the scorer's p(buy) is the one logged with the offer. Given the scorer's user
    /// tower (<c>embed</c>) and the text features on, the price language is learned from these rows; otherwise every
    /// user's price language reads 0.
    /// </summary>
    public static async Task<LoggedRows> LoadRowsAsync(
        DiscountsDbContext db, TextModelStore textModels, bool textFeatures, IReadOnlyList<int> ladder, DateTime asOf, CancellationToken cancellationToken,
        PriceLanguage.Embedder? embed = null)
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
        var offers = logged.Select(o => new UpliftTraining.LoggedOffer(
            o.Id, o.UserId, o.ItemId, o.Category, o.ListPriceCents, o.CostCents, o.DiscountPercent, o.CreatedAt, o.Bought, o.ScorerProbability)).ToList();
        var language = textFeatures && embed is not null ? UpliftTraining.LearnPriceLanguage(offers, history, ladder, embed) : PriceLanguage.None;
        var text = textFeatures ? await TextMatcherAsync(db, textModels, logged.Select(o => o.ItemId).Distinct().ToList(), language, cancellationToken) : TextMatcher.None;
        return new LoggedRows(UpliftTraining.PricedRows(offers, history, ladder, asOf, text), language);
    }

    /// <summary>The learner rows of the log, and the price language learned from them (or <see cref="PriceLanguage.None"/>).</summary>
    public sealed record LoggedRows(List<UpliftTraining.PricedRow> Rows, PriceLanguage Language);

    /// <summary>
    /// The serving scorer's user tower as the price language reads it: the vectors of the version serving when the
    /// language was learned, and null once another version serves (the direction belongs to that encoder's space).
    /// </summary>
    public static PriceLanguage.Embedder EmbedderOf(IScorer scorer)
    {
        var version = scorer.ActiveVersion;
        return texts =>
        {
            if (version is null)
            {
                return null;
            }

            var embedded = scorer.EmbedUsers(texts.Select(ScorerUser.OfText).ToList());
            return embedded.Version == version ? embedded.Vectors : null;
        };
    }

    /// <summary>The active text model with the given items' texts: what training, evaluation and quotes all match users' words with.</summary>
    public static async Task<TextMatcher> TextMatcherAsync(
        DiscountsDbContext db, TextModelStore textModels, IReadOnlyCollection<long> itemIds, PriceLanguage language, CancellationToken cancellationToken)
    {
        var model = await textModels.GetActiveAsync(db, cancellationToken);
        if (model is null)
        {
            return new TextMatcher(null, []) { Language = language };
        }

        var items = await db.Items.AsNoTracking().Where(i => itemIds.Contains(i.Id))
            .Select(i => new ItemText(i.Id, i.Title, i.Category, i.Brand, i.Description))
            .ToListAsync(cancellationToken);
        return new TextMatcher(model, items) { Language = language };
    }
}
