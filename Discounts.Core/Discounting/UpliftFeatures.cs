using Discounts.Core.Domain;

namespace Discounts.Core.Discounting;

/// <summary>One past text: searches and chats say what the user asks for; reviews, written after buying, do not.</summary>
public readonly record struct PastText(string Text, DateTime OccurredAt, TextKind Kind);

/// <summary>How often a user's own words are about price: deals, sales, discounts, budgets.</summary>
public static class PriceTalk
{
    private static readonly string[] Words =
        ["cheap", "deal", "deals", "discount", "discounts", "sale", "coupon", "voucher", "promo", "budget", "bargain", "offer", "price", "cheaper", "affordable"];

    public static bool Mentions(string text) =>
        text.Split([' ', ',', '.', '!', '?', ';', ':', '\'', '"', '(', ')', '-'], StringSplitOptions.RemoveEmptyEntries)
            .Any(word => Words.Contains(word.ToLowerInvariant()));
}

/// <summary>One past event, as much as the uplift features need.</summary>
public readonly record struct PastEvent(EventKind Kind, string Category, long PriceCents, int DiscountPercent, DateTime OccurredAt, long? OfferId = null);

/// <summary>
/// What a user's history says at one moment, for one item's category. Training rows leave out the events of their own
/// offer, so they never see their own outcome. Holds no protected attribute: only behaviour.
/// </summary>
public sealed record UserSignals(
    int Purchases,
    long SpendCents,
    double DaysSinceLastPurchase,
    int Views,
    double CategoryAffinity,
    int CategoryPurchases,
    double ShareBoughtOnDiscount,
    double AverageDiscountTaken,
    double DiscountedOfferBuyRate,
    double FullPriceOfferBuyRate,
    /// <summary>Mean log price paid minus mean log price viewed: price-sensitive users buy the cheaper of what they view.</summary>
    double PricePaidVersusViewed,
    double PriceTalkShare,
    /// <summary>What the user spends on a shopping day, on average: the basket a coupon would apply to.</summary>
    long AverageBasketCents)
{
    /// <summary>Pseudo-counts that pull a user with few offers towards the typical response.</summary>
    private const double PriorOffers = 3;
    private const double PriorBuyRate = 0.15;
    private const double PriorTexts = 2;
    private const double PriorPriceTalkShare = 0.3;

    /// <summary>How much more often the user bought under a discounted offer than under a full-price one, in the randomised log.</summary>
    public double OfferResponse => DiscountedOfferBuyRate - FullPriceOfferBuyRate;

    public static UserSignals From(
        IReadOnlyList<PastEvent> history, IReadOnlyList<PastText> texts, DateTime asOf, string category, long? leaveOutOffer = null)
    {
        int purchases = 0, views = 0, categoryPurchases = 0, categoryTouches = 0, touches = 0, discounted = 0;
        long spend = 0;
        double discountSum = 0;
        DateTime? lastPurchase = null;
        double logPaid = 0, logViewed = 0;
        var offersShown = new Dictionary<long, int>();
        var baskets = new Dictionary<DateOnly, long>();
        var offersBought = new HashSet<long>();
        foreach (var e in history)
        {
            if (e.OccurredAt >= asOf || (leaveOutOffer is { } left && e.OfferId == left))
            {
                continue;
            }

            if (e is { Kind: EventKind.OfferShown, OfferId: { } shown })
            {
                offersShown[shown] = e.DiscountPercent;
            }
            else if (e is { Kind: EventKind.Purchase, OfferId: { } bought })
            {
                offersBought.Add(bought);
            }

            if (e.Kind is EventKind.View or EventKind.Purchase)
            {
                touches++;
                categoryTouches += e.Category == category ? 1 : 0;
            }

            if (e.Kind == EventKind.View)
            {
                views++;
                logViewed += Math.Log(1 + e.PriceCents);
            }
            else if (e.Kind == EventKind.Purchase)
            {
                purchases++;
                spend += e.PriceCents;
                logPaid += Math.Log(1 + e.PriceCents);
                var day = DateOnly.FromDateTime(e.OccurredAt);
                baskets[day] = baskets.GetValueOrDefault(day) + e.PriceCents;
                categoryPurchases += e.Category == category ? 1 : 0;
                discounted += e.DiscountPercent > 0 ? 1 : 0;
                discountSum += e.DiscountPercent;
                lastPurchase = lastPurchase is { } last && last > e.OccurredAt ? last : e.OccurredAt;
            }
        }

        return new UserSignals(
            purchases,
            spend,
            lastPurchase is { } at ? Math.Min((asOf - at).TotalDays, 365) : 365,
            views,
            touches == 0 ? 0 : categoryTouches / (double)touches,
            categoryPurchases,
            purchases == 0 ? 0 : discounted / (double)purchases,
            purchases == 0 ? 0 : discountSum / purchases,
            SmoothedRate(offersShown.Where(o => o.Value > 0).Select(o => o.Key), offersBought),
            SmoothedRate(offersShown.Where(o => o.Value == 0).Select(o => o.Key), offersBought),
            purchases == 0 || views == 0 ? 0 : logPaid / purchases - logViewed / views,
            PriceTalkShareBefore(texts, asOf),
            baskets.Count == 0 ? 0 : (long)baskets.Values.Average());
    }

    /// <summary>
    /// The share of the user's searches and chats that ask about price, pulled towards a typical share when they wrote
    /// little: one "cheap" in one search is weaker evidence than three in five. Reviews are left out: they describe a
    /// purchase already made, and counting them would dilute the share of the users who buy most.
    /// </summary>
    private static double PriceTalkShareBefore(IReadOnlyList<PastText> texts, DateTime asOf)
    {
        int asked = 0, aboutPrice = 0;
        foreach (var text in texts)
        {
            if (text.OccurredAt >= asOf || text.Kind == TextKind.Review)
            {
                continue;
            }

            asked++;
            aboutPrice += PriceTalk.Mentions(text.Text) ? 1 : 0;
        }

        return (aboutPrice + PriorTexts * PriorPriceTalkShare) / (asked + PriorTexts);
    }

    private static double SmoothedRate(IEnumerable<long> offers, HashSet<long> bought)
    {
        var (shown, converted) = offers.Aggregate((Shown: 0, Bought: 0), (acc, offer) => (acc.Shown + 1, acc.Bought + (bought.Contains(offer) ? 1 : 0)));
        return (converted + PriorOffers * PriorBuyRate) / (shown + PriorOffers);
    }
}

/// <summary>A user's events and words, the raw material of their signals.</summary>
public sealed record UserHistory(IReadOnlyList<PastEvent> Events, IReadOnlyList<PastText> Texts)
{
    public static UserHistory Empty { get; } = new([], []);

    public UserSignals SignalsFor(string category, DateTime asOf) => UserSignals.From(Events, Texts, asOf, category);
}

public static class UpliftFeatures
{
    /// <summary>How many features <see cref="Build"/> returns.</summary>
    public const int Count = 20;

    /// <summary>The column of <see cref="TextMatch.PriceLanguage"/>, which the language head's lift reads.</summary>
    public const int PriceLanguageColumn = 15;

    /// <summary>The column of <see cref="UserSignals.PricePaidVersusViewed"/>, the behaviour the language head's lift reads beside the words.</summary>
    public const int PricePaidVersusViewedColumn = 13;

    /// <param name="text">The user's words against the item's, as of the decision (<see cref="TextMatcher"/>).</param>
    /// <param name="scorerProbability">
    /// The purchase scorer's p(buy) at the list price, as logged when the offer was made; null where none was logged
    /// (older offers, the seeded history, or no scorer serving). A missing value is a 0/1 flag plus a neutral 0, so the
    /// trees can tell "unknown" from "unlikely".
    /// </param>
    public static float[] Build(UserSignals user, long priceCents, long costCents, TextMatch text, double? scorerProbability) =>
    [
        (float)Math.Log(1 + priceCents),
        priceCents == 0 ? 0 : (float)((priceCents - costCents) / (double)priceCents),
        user.Purchases,
        (float)Math.Log(1 + user.SpendCents),
        (float)user.DaysSinceLastPurchase,
        user.Views,
        (float)user.CategoryAffinity,
        user.CategoryPurchases,
        (float)user.ShareBoughtOnDiscount,
        (float)user.AverageDiscountTaken,
        (float)user.DiscountedOfferBuyRate,
        (float)user.FullPriceOfferBuyRate,
        (float)user.OfferResponse,
        (float)user.PricePaidVersusViewed,
        // With the language features the learned price language (next column) replaces the hand-written word list,
        // which also reads texts written after a training row's offer.
        text.PriceLanguage is null ? (float)user.PriceTalkShare : 0,
        (float)(text.PriceLanguage ?? 0),
        (float)text.TopicSimilarity,
        (float)text.KeywordMatch,
        scorerProbability is null ? 0 : 1,
        (float)(scorerProbability ?? 0),
    ];
}

/// <summary>
/// How far each user's predicted lift is pulled towards the population's: the relative lift per percent used is
/// λ × the user's own + (1 − λ) × <see cref="PopulationLiftPerPercent"/>. At λ = 0 every user gets the population's
/// lift and the policy picks one level per margin, which is what a flat discount does at best.
/// </summary>
public sealed record LiftShrinkage(double Lambda, double PopulationLiftPerPercent)
{
    public static readonly IReadOnlyList<double> Grid = [0, 0.25, 0.5, 0.75, 1];
}

/// <summary>The fitted uplift model with the ladder it prices and its version, as quotes use it.</summary>
public sealed class UpliftModel(UpliftLearner learner, IReadOnlyList<int> ladder, string version, int trainingRows, LiftShrinkage? shrinkage = null)
{
    /// <summary>Whether the text features were computed for its training rows; serving computes them exactly when they were.</summary>
    public bool TextFeatures { get; init; }

    /// <summary>The price-language direction its training rows were read with; serving reads users' words with it.</summary>
    public PriceLanguage Language { get; init; } = PriceLanguage.None;

    public string Version { get; } = version;
    public IReadOnlyList<int> Ladder { get; } = ladder;
    public int TrainingRows { get; } = trainingRows;
    public UpliftLearner Learner { get; } = learner;
    public LiftShrinkage? Shrinkage { get; } = shrinkage;

    /// <summary>
    /// p(buy) at each ladder level for each row. Each level's model is fitted on a fifth of the log, so level-to-level
    /// differences are noisy, and picking the best of noisy levels rewards the noise. The estimates are therefore
    /// pooled into one straight line through p(0): p(d) = p(0) + slope × d, with the least-squares slope over all levels,
    /// never negative (a deeper cut never lowers the chance of buying), and the slope is then shrunk.
    /// </summary>
    public double[][] PurchaseProbabilities(IReadOnlyList<float[]> features) =>
        Shrunk(Learner.Predict(features).Select(p => PoolAlongLadder(Ladder, p)).ToArray(), Ladder, Shrinkage);

    /// <summary>The relative lift per percent of a pooled row: p(d) = p(0) × (1 + lift × d).</summary>
    public static double LiftPerPercent(IReadOnlyList<int> ladder, double[] pooled) =>
        pooled[0] <= 0 ? 0 : (pooled[^1] - pooled[0]) / (pooled[0] * ladder[^1]);

    public static double[][] Shrunk(double[][] pooled, IReadOnlyList<int> ladder, LiftShrinkage? shrinkage)
    {
        if (shrinkage is null || shrinkage.Lambda >= 1)
        {
            return pooled;
        }

        return pooled.Select(p =>
        {
            var lift = shrinkage.Lambda * LiftPerPercent(ladder, p) + (1 - shrinkage.Lambda) * shrinkage.PopulationLiftPerPercent;
            return ladder.Select(percent => Math.Min(1, p[0] * (1 + lift * percent))).ToArray();
        }).ToArray();
    }

    public static double[] PoolAlongLadder(IReadOnlyList<int> ladder, double[] byLevel)
    {
        double numerator = 0, denominator = 0;
        for (var level = 1; level < byLevel.Length; level++)
        {
            numerator += ladder[level] * (byLevel[level] - byLevel[0]);
            denominator += (double)ladder[level] * ladder[level];
        }

        var slope = Math.Max(0, numerator / denominator);
        return ladder.Select(percent => Math.Min(1, byLevel[0] + slope * percent)).ToArray();
    }
}

/// <summary>
/// Turns the randomised offer log into learner rows: arm = ladder level, outcome = bought while the offer stood.
/// Behavioural features are read from the whole log as of <c>asOf</c> with the row's own offer left out, so training
/// sees users as richly as serving does (an early offer's strictly-prior history would be nearly empty). Text features
/// and the scorer's p(buy) are as of the offer's own time: those can carry the outcome (see <see cref="Features"/>).
/// </summary>
public static class UpliftTraining
{
    /// <param name="ScorerProbability">The scorer's p(buy) logged when the offer was made, or null.</param>
    public sealed record LoggedOffer(
        long OfferId, long UserId, long ItemId, string Category, long PriceCents, long CostCents, int Percent, DateTime At, bool Bought, double? ScorerProbability = null);

    /// <summary>A learner row with the item's price and cost, which valuing a policy on the log needs.</summary>
    public sealed record PricedRow(UpliftRow Row, long PriceCents, long CostCents);

    public static List<UpliftRow> Rows(
        IEnumerable<LoggedOffer> offers, IReadOnlyDictionary<long, UserHistory> historyByUser, IReadOnlyList<int> ladder, DateTime asOf, TextMatcher text) =>
        PricedRows(offers, historyByUser, ladder, asOf, text).Select(r => r.Row).ToList();

    /// <summary>
    /// A logged offer's features. Behaviour is read as of <paramref name="asOf"/> with the offer's own events left out;
    /// the text match only from texts written before the offer was made, since a later review can reveal its purchase;
    /// the scorer's p(buy) is the value logged at the decision, computed before the outcome existed.
    /// </summary>
    public static float[] Features(LoggedOffer offer, UserHistory history, DateTime asOf, TextMatcher text) =>
        UpliftFeatures.Build(
            UserSignals.From(history.Events, history.Texts, asOf, offer.Category, leaveOutOffer: offer.OfferId),
            offer.PriceCents,
            offer.CostCents,
            text.Match(offer.UserId, history.Texts, offer.At, offer.ItemId),
            offer.ScorerProbability);

    /// <summary>
    /// Learns the price-language direction from the randomised offers, each reading only the texts written before it
    /// was made (<see cref="PriceLanguage.Learn"/>). Call it on the training offers alone: the direction is part of the model.
    /// </summary>
    public static PriceLanguage LearnPriceLanguage(
        IEnumerable<LoggedOffer> offers, IReadOnlyDictionary<long, UserHistory> historyByUser, IReadOnlyList<int> ladder,
        PriceLanguage.Embedder embed)
    {
        var onLadder = offers.Where(o => IndexOf(ladder, o.Percent) >= 0).ToList();
        var texts = onLadder.Select(o => o.UserId).Distinct()
            .ToDictionary(user => user, user => historyByUser.GetValueOrDefault(user)?.Texts ?? (IReadOnlyList<PastText>)[]);
        return PriceLanguage.Learn(
            onLadder.Select(o => new PriceLanguage.Offer(o.UserId, o.At, IndexOf(ladder, o.Percent), o.Bought)).ToList(),
            texts,
            ladder.Select(percent => (double)percent).ToArray(),
            embed);
    }

    public static List<PricedRow> PricedRows(
        IEnumerable<LoggedOffer> offers, IReadOnlyDictionary<long, UserHistory> historyByUser, IReadOnlyList<int> ladder, DateTime asOf, TextMatcher text)
    {
        var rows = new List<PricedRow>();
        foreach (var offer in offers)
        {
            var arm = IndexOf(ladder, offer.Percent);
            if (arm < 0)
            {
                continue;
            }

            var history = historyByUser.GetValueOrDefault(offer.UserId) ?? UserHistory.Empty;
            rows.Add(new PricedRow(new UpliftRow(Features(offer, history, asOf, text), arm, offer.Bought), offer.PriceCents, offer.CostCents));
        }

        return rows;
    }

    private static int IndexOf(IReadOnlyList<int> ladder, int percent)
    {
        for (var i = 0; i < ladder.Count; i++)
        {
            if (ladder[i] == percent)
            {
                return i;
            }
        }

        return -1;
    }
}

/// <summary>
/// Fits the product's uplift model on the randomised log: the learner (by default <see cref="UpliftLearnerKind.Selected"/>,
/// which picks its candidate by cross-fitting), then the shrinkage λ of <see cref="LiftShrinkage"/>, chosen by the
/// cross-fitted doubly robust value of the greedy policy on the same log. Per-user lift is noisy, and the policy's
/// argmax rewards the noise; how much to trust it is a property of the log, so the log decides.
/// </summary>
public static class UpliftModelTrainer
{
    public sealed record Fitted(UpliftModel Model, IReadOnlyList<double> ValueByLambda);

    /// <param name="priceLanguage">The direction the rows' price language was read with, kept with the model so quotes read the same.</param>
    public static Fitted Train(IReadOnlyList<UpliftTraining.PricedRow> rows, DiscountingOptions options, int seed, string version, PriceLanguage? priceLanguage = null)
    {
        var ladder = options.Ladder;
        var learnerRows = rows.Select(r => r.Row).ToList();
        // With the language features the language head serves, unshrunk: its one slope is fitted by likelihood on a
        // reading already pulled towards the population by how little each user wrote. On the tuning shops, choosing
        // the learner by out-of-fold Qini or DR value, or λ by DR value or held-out likelihood, picked the worse
        // option on most shops: on 8,000 offers those estimates move by more than the gaps (docs/BENCHMARKS.md).
        var language = options.TextFeatures && options.Learner.Kind == UpliftLearnerKind.Selected;
        var learner = UpliftLearner.Fit(learnerRows, ladder.Length, language ? UpliftLearnerOptions.LanguageHead : options.Learner, seed, options.LadderDoses);
        if (!options.TuneShrinkage || language)
        {
            return new Fitted(new UpliftModel(learner, ladder, version, rows.Count) { TextFeatures = options.TextFeatures, Language = priceLanguage ?? PriceLanguage.None }, []);
        }

        var outOfFold = OutOfFoldPooled(learnerRows, ladder, learner.Chosen, options, seed);
        var values = LiftShrinkage.Grid.Select(lambda => PolicyValue(rows, outOfFold, options, lambda)).ToList();
        var best = LiftShrinkage.Grid[values.IndexOf(values.Max())];
        var population = learner.Predict(learnerRows.Select(r => r.Features).ToList())
            .Average(p => UpliftModel.LiftPerPercent(ladder, UpliftModel.PoolAlongLadder(ladder, p)));
        return new Fitted(new UpliftModel(learner, ladder, version, rows.Count, new LiftShrinkage(best, population)) { TextFeatures = options.TextFeatures, Language = priceLanguage ?? PriceLanguage.None }, values);
    }

    /// <summary>Every row's pooled p(buy) by level from a model that did not see it (the chosen candidate, refitted per fold).</summary>
    private static double[][] OutOfFoldPooled(List<UpliftRow> rows, IReadOnlyList<int> ladder, UpliftLearnerOptions chosen, DiscountingOptions options, int seed)
    {
        var folds = Math.Max(2, options.Learner.SelectionFolds);
        var fold = UpliftLearner.StratifiedFolds(rows, folds, seed + 1);
        var result = new double[rows.Count][];
        for (var k = 0; k < folds; k++)
        {
            var test = Enumerable.Range(0, rows.Count).Where(i => fold[i] == k).ToList();
            var model = UpliftLearner.Fit(rows.Where((_, i) => fold[i] != k).ToList(), ladder.Count, chosen, seed, options.LadderDoses);
            var predicted = model.Predict(test.Select(i => rows[i].Features).ToList());
            for (var j = 0; j < test.Count; j++)
            {
                result[test[j]] = UpliftModel.PoolAlongLadder(ladder, predicted[j]);
            }
        }

        return result;
    }

    /// <summary>
    /// The doubly robust estimate of the margin per logged offer that the greedy policy would earn with shrinkage λ:
    /// the outcome model's value of the chosen level, corrected by the logged outcome where the log drew that level.
    /// Propensities are the arms' shares of the log, which is what a uniform draw gives.
    /// </summary>
    public static double PolicyValue(IReadOnlyList<UpliftTraining.PricedRow> rows, double[][] pooled, DiscountingOptions options, double lambda)
    {
        var ladder = options.Ladder;
        var population = pooled.Average(p => UpliftModel.LiftPerPercent(ladder, p));
        var shrunk = UpliftModel.Shrunk(pooled, ladder, new LiftShrinkage(lambda, population));
        var share = Enumerable.Range(0, ladder.Length).Select(a => rows.Count(r => r.Row.Arm == a) / (double)rows.Count).ToArray();
        var policy = new DiscountPolicy(options);
        double total = 0;
        for (var i = 0; i < rows.Count; i++)
        {
            var (row, price, cost) = rows[i];
            var chosen = policy.Decide(new PolicyInput(price, cost, shrunk[i], true, Math.Max(1, options.MaxDiscountsPerUserPerDay), BudgetLeftCents: null), explorer: null).Percent;
            var level = IndexOf(ladder, chosen);
            double Margin(int l) => DiscountPolicy.FinalPrice(price, ladder[l]) - cost;
            total += pooled[i][level] * Margin(level);
            if (row.Arm == level && share[level] > 0)
            {
                total += ((row.Outcome ? 1 : 0) - pooled[i][level]) * Margin(level) / share[level];
            }
        }

        return total / rows.Count;
    }

    private static int IndexOf(IReadOnlyList<int> ladder, int percent)
    {
        for (var i = 0; i < ladder.Count; i++)
        {
            if (ladder[i] == percent)
            {
                return i;
            }
        }

        throw new ArgumentException($"{percent} % is not on the ladder.", nameof(percent));
    }
}
