using Discounts.Core.Demo;
using Discounts.Core.Domain;
using Discounts.Core.Profiling;

namespace Discounts.Core.Discounting;

public sealed record StrategyOutcome(string Strategy, double ExpectedProfitCents, double IncrementalProfitCents, double ExpectedPurchases, double DiscountedShare, int GuardrailBreaches);

/// <summary>How close the model's estimates came to the hidden truth on the held-out decisions.</summary>
/// <param name="P0Correlation">How well the predicted chance of buying without a discount follows the true one, across decisions.</param>
/// <param name="LanguageCorrelation">How well the price language's reading of each held-out user follows their hidden price
/// sensitivity; 0 with the language features off.</param>
public sealed record EstimateQuality(double MeanPredictedP0, double MeanTrueP0, double MeanPredictedUplift, double MeanTrueUplift, double UpliftCorrelation, double P0Correlation,
    double LanguageCorrelation);

/// <param name="Learner">The learner the training log chose, and the shrinkage λ with its population lift.</param>
public sealed record SimulationResult(
    int TrainingOffers, int HeldOutUsers, int Decisions, IReadOnlyList<StrategyOutcome> Strategies, EstimateQuality Quality, string Learner = "");

/// <summary>
/// Each strategy's share of the oracle's incremental profit over no discount on one generated shop: 10 % for everyone,
/// the product with its text features off (the default), and with its language features on
/// (<see cref="DiscountingOptions.TextFeatures"/>: topic and keyword match, the price language and the language head).
/// </summary>
/// <param name="LanguageCorrelation">How well the price language's reading of the held-out users follows their hidden sensitivity.</param>
public sealed record ShopShares(int Seed, double Flat10, double TextOff, double Language, double OracleIncrementalCents, int Breaches, string LanguageLearner, double LanguageCorrelation);

/// <summary>
/// Replays the demo shop with its hidden ground truth. The uplift model learns from the randomised offers of half the
/// users; on the other half, every viewed item is priced by each strategy, and the expected profit is read from the
/// true purchase probability (<see cref="DemoShop.PurchaseProbability"/>), which no model sees.
/// </summary>
public static class PolicySimulation
{
    /// <param name="textModel">
    /// The shop's text model, for the topic and keyword features (<see cref="FitTextModel"/>) when
    /// <see cref="DiscountingOptions.TextFeatures"/> is on; otherwise they are the neutral constant, as in a shop that has
    /// no text model yet, which leaves the behavioural features alone.
    /// </param>
    /// <param name="embed">The scorer's user tower, for the price language when the language features are on; without it they read 0.</param>
    public static SimulationResult Run(DemoShop shop, DiscountingOptions options, int seed = 5, TextProfileModel? textModel = null,
        PriceLanguage.Embedder? embed = null)
    {
        var items = shop.Items.ToDictionary(i => i.Id);
        var texts = shop.Texts.ToLookup(t => t.UserId, t => new PastText(t.Text, t.OccurredAt, t.Kind));
        var history = shop.Events
            .GroupBy(e => e.UserId)
            .ToDictionary(g => g.Key, g => new UserHistory(
                g.Select(e => new PastEvent(e.Kind, items[e.ItemId].Category, e.PriceCents ?? 0, e.DiscountPercent, e.OccurredAt, e.OfferId)).ToList(),
                texts[g.Key].ToList()));
        var bought = shop.Events.Where(e => e is { Kind: EventKind.Purchase, OfferId: not null }).Select(e => e.OfferId!.Value).ToHashSet();
        bool HeldOut(long userId) => userId % 2 == 0;

        var asOf = shop.Events.Max(e => e.OccurredAt).AddMinutes(1);
        var trainingOffers = shop.Offers.Where(o => !HeldOut(o.UserId) && o.IsExploration).Select(o => new UpliftTraining.LoggedOffer(
            o.Id, o.UserId, o.ItemId, items[o.ItemId].Category, o.ListPriceCents, items[o.ItemId].CostCents, o.DiscountPercent, o.CreatedAt, bought.Contains(o.Id))).ToList();
        var language = options.TextFeatures && embed is not null ? UpliftTraining.LearnPriceLanguage(trainingOffers, history, options.Ladder, embed) : PriceLanguage.None;
        var text = options.TextFeatures ? new TextMatcher(textModel, shop.Items.Select(ItemTextOf)) { Language = language } : TextMatcher.None;
        var rows = UpliftTraining.PricedRows(trainingOffers, history, options.Ladder, asOf, text);
        var fitted = UpliftModelTrainer.Train(rows, options, seed, "simulation", language);
        var model = fitted.Model;

        var tastes = shop.Users.Zip(shop.Tastes).Where(p => HeldOut(p.First.Id)).ToList();
        var decisions = new List<(DemoTaste Taste, Item Item, UserSignals Signals, bool Consent)>();
        var features = new List<float[]>();
        foreach (var (user, taste) in tastes)
        {
            var past = history.GetValueOrDefault(user.Id) ?? UserHistory.Empty;
            foreach (var item in shop.Events.Where(e => e.UserId == user.Id && e.Kind == EventKind.View).Select(e => items[e.ItemId]).Distinct())
            {
                var signals = past.SignalsFor(item.Category, asOf);
                decisions.Add((taste, item, signals, user.ConsentPersonalisation));
                // The demo history logged no scorer p(buy), so the simulation's decisions have none either.
                features.Add(UpliftFeatures.Build(signals, item.PriceCents, item.CostCents, text.Match(user.Id, past.Texts, asOf, item.Id), scorerProbability: null));
            }
        }

        var probabilities = model.PurchaseProbabilities(features);
        var policy = new DiscountPolicy(options);
        var chosen = decisions.Select((d, i) => policy.Decide(
            new PolicyInput(d.Item.PriceCents, d.Item.CostCents, probabilities[i], d.Consent, options.MaxDiscountsPerUserPerDay, BudgetLeftCents: null), explorer: null).Percent).ToList();

        var strategies = new List<StrategyOutcome>
        {
            Evaluate("no discounts", decisions, _ => 0, policy),
            Evaluate("10% for everyone", decisions, _ => 10, policy),
            Evaluate("uplift policy", decisions, i => chosen[i], policy),
            // The ceiling: the best allowed level under the hidden truth, which no model can know.
            Evaluate("oracle", decisions, i => Oracle(decisions[i].Taste, decisions[i].Item, options, policy), policy),
        };
        var baseline = strategies[0].ExpectedProfitCents;
        var top = options.Ladder[^1];
        var trueP0 = decisions.Select(d => DemoShop.PurchaseProbability(d.Taste, d.Item, 0)).ToArray();
        var trueUplift = decisions.Select((d, i) => DemoShop.PurchaseProbability(d.Taste, d.Item, top) - trueP0[i]).ToArray();
        var predictedUplift = probabilities.Select(p => p[^1] - p[0]).ToArray();
        var quality = new EstimateQuality(probabilities.Average(p => p[0]), trueP0.Average(), predictedUplift.Average(), trueUplift.Average(), Correlation(predictedUplift, trueUplift),
            Correlation(probabilities.Select(p => p[0]).ToArray(), trueP0),
            Correlation(
                tastes.Select(t => language.ScoreBefore(history.GetValueOrDefault(t.First.Id)?.Texts ?? [], asOf)).ToArray(),
                tastes.Select(t => t.Second.PriceSensitivity).ToArray()));
        return new SimulationResult(rows.Count, tastes.Count, decisions.Count,
            strategies.Select(s => s with { IncrementalProfitCents = s.ExpectedProfitCents - baseline }).ToList(), quality,
            $"{model.Learner.Chosen} (out-of-fold Qini by candidate: {string.Join(", ", model.Learner.CandidateScores.Select(q => q.ToString("F4")))}); "
            + $"shrinkage {model.Shrinkage} (DR value by λ: {string.Join(", ", fitted.ValueByLambda.Select(v => v.ToString("F1")))})"
            + (model.Language.Words.Count > 0 ? $"; price language: {string.Join(", ", model.Language.Words)}" : ""));
    }

    /// <summary>
    /// The product with its text features off and with its language features on, against both baselines and the oracle,
    /// on one shop; <paramref name="embed"/> is the scorer's user tower (without it the price language reads 0).
    /// </summary>
    public static ShopShares CompareOnShop(DemoShop shop, int seed, PriceLanguage.Embedder? embed)
    {
        var textOff = Run(shop, new DiscountingOptions { ExplorationShare = 0 });
        var language = Run(shop, new DiscountingOptions { ExplorationShare = 0, TextFeatures = true }, textModel: FitTextModel(shop), embed: embed);
        double Incremental(SimulationResult result, string strategy) => result.Strategies.Single(s => s.Strategy == strategy).IncrementalProfitCents;
        var oracle = Incremental(textOff, "oracle");
        return new ShopShares(
            seed,
            Incremental(textOff, "10% for everyone") / oracle,
            Incremental(textOff, "uplift policy") / oracle,
            Incremental(language, "uplift policy") / oracle,
            oracle,
            textOff.Strategies.Concat(language.Strategies).Sum(s => s.GuardrailBreaches),
            language.Learner,
            language.Quality.LanguageCorrelation);
    }

    /// <summary>The shop's text model, fitted as the profile rebuild fits one: every stored text is one document.</summary>
    public static TextProfileModel FitTextModel(DemoShop shop) =>
        TextProfileModel.Fit(
            shop.Texts.Select(t => (IReadOnlyList<string>)Tokenizer.Tokenize(t.Text)).ToList(),
            new ProfilingOptions().ToModelOptions(),
            shop.Events.Max(e => e.OccurredAt));

    public static ItemText ItemTextOf(Item item) => new(item.Id, item.Title, item.Category, item.Brand, item.Description);

    private static double Correlation(double[] x, double[] y)
    {
        double mx = x.Average(), my = y.Average();
        double sxy = 0, sxx = 0, syy = 0;
        for (var i = 0; i < x.Length; i++)
        {
            sxy += (x[i] - mx) * (y[i] - my);
            sxx += (x[i] - mx) * (x[i] - mx);
            syy += (y[i] - my) * (y[i] - my);
        }

        return sxx == 0 || syy == 0 ? 0 : sxy / Math.Sqrt(sxx * syy);
    }

    private static int Oracle(DemoTaste taste, Item item, DiscountingOptions options, DiscountPolicy policy) =>
        options.Ladder.Where(d => d <= options.MaxPercent && (d == 0 || DiscountPolicy.FinalPrice(item.PriceCents, d) >= policy.MarginFloorPrice(item.CostCents)))
            .MaxBy(d => DemoShop.PurchaseProbability(taste, item, d) * (DiscountPolicy.FinalPrice(item.PriceCents, d) - item.CostCents));

    private static StrategyOutcome Evaluate(
        string name, List<(DemoTaste Taste, Item Item, UserSignals Signals, bool Consent)> decisions, Func<int, int> percentFor, DiscountPolicy policy)
    {
        double profit = 0, purchases = 0;
        int discounted = 0, breaches = 0;
        for (var i = 0; i < decisions.Count; i++)
        {
            var (taste, item, _, _) = decisions[i];
            var percent = percentFor(i);
            var price = DiscountPolicy.FinalPrice(item.PriceCents, percent);
            var p = DemoShop.PurchaseProbability(taste, item, percent);
            profit += p * (price - item.CostCents);
            purchases += p;
            discounted += percent > 0 ? 1 : 0;
            breaches += percent > 0 && price < policy.MarginFloorPrice(item.CostCents) ? 1 : 0;
        }

        return new StrategyOutcome(name, profit, 0, purchases, discounted / (double)decisions.Count, breaches);
    }
}
