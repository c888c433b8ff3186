using Discounts.Core.Discounting;

namespace Discounts.Tests.Core.Discounting;

public sealed class DiscountPolicyTests
{
    private static readonly DiscountingOptions Options = new() { ExplorationShare = 0 };
    private static readonly Random Seeded = new(3);

    private static PolicyInput Input(double[] probabilities, long price = 10_000, long cost = 4_000, bool consent = true, int left = 3, long? budget = 1_000_000) =>
        new(price, cost, probabilities, consent, left, budget);

    [Test]
    public void IncrementalProfit_WhenWorkedByHand_MatchesTheFormula()
    {
        // (0.30 − 0.10) × (10 000 × 0.9 − 4 000) − 0.10 × 10 000 × 0.1 = 0.2 × 5 000 − 100 = 900 cents.
        Assert.That(DiscountPolicy.IncrementalProfit(10_000, 4_000, 0.10, 0.30, 10), Is.EqualTo(900).Within(1e-9));
    }

    [Test]
    public void Decide_WhenUserWouldBuyAnyway_GivesNoDiscount()
    {
        var decision = new DiscountPolicy(Options).Decide(Input([0.90, 0.91, 0.92, 0.93, 0.94]), Seeded);
        Assert.That(decision.Percent, Is.Zero);
        Assert.That(decision.FinalPriceCents, Is.EqualTo(10_000));
    }

    [Test]
    public void Decide_WhenDiscountsMoveTheUser_PicksTheMostProfitableLevel()
    {
        double[] p = [0.05, 0.12, 0.22, 0.26, 0.28];
        var expected = new[] { 0, 5, 10, 15, 20 }.Select((d, i) => (d, profit: i == 0 ? 0 : DiscountPolicy.IncrementalProfit(10_000, 4_000, p[0], p[i], d)))
            .MaxBy(x => x.profit).d;

        var decision = new DiscountPolicy(Options).Decide(Input(p), Seeded);

        // By hand: 5 % earns 360, 10 % 800, 15 % 870 and 20 % 820 cents.
        Assert.That(decision.Percent, Is.EqualTo(expected).And.EqualTo(15));
        Assert.That(decision.ExpectedIncrementalProfitCents, Is.GreaterThan(0));
        Assert.That(decision.Propensity, Is.EqualTo(1).Within(1e-12));
    }

    [Test]
    public void Decide_WhenMarginIsThin_NeverPricesBelowCostPlusFloor()
    {
        // Cost 8 500: the floor price is 9 350, so only 5 % (9 500) stays above it.
        var decision = new DiscountPolicy(Options).Decide(Input([0.01, 0.30, 0.60, 0.80, 0.95], cost: 8_500), Seeded);
        Assert.That(decision.Percent, Is.EqualTo(5));
        Assert.That(decision.FinalPriceCents, Is.GreaterThanOrEqualTo(9_350));
        Assert.That(decision.Constraints, Has.Some.Contains("margin floor"));
    }

    [Test]
    public void Decide_WhenMaxPercentIsLow_StaysUnderIt()
    {
        var options = new DiscountingOptions { ExplorationShare = 0, MaxPercent = 10 };
        var decision = new DiscountPolicy(options).Decide(Input([0.01, 0.10, 0.20, 0.50, 0.90]), Seeded);
        Assert.That(decision.Percent, Is.LessThanOrEqualTo(10));
    }

    [TestCase(false, 3, "agreed")]
    [TestCase(true, 0, "daily limit")]
    public void Decide_WhenConsentMissingOrCapReached_GivesNoDiscount(bool consent, int left, string because)
    {
        var decision = new DiscountPolicy(Options).Decide(Input([0.01, 0.30, 0.60, 0.80, 0.95], consent: consent, left: left), Seeded);
        Assert.That(decision.Percent, Is.Zero);
        Assert.That(decision.Constraints, Has.Some.Contains(because));
    }

    [Test]
    public void Decide_WhenBudgetIsSmall_OnlyAffordableLevelsRemain()
    {
        var decision = new DiscountPolicy(Options).Decide(Input([0.01, 0.30, 0.60, 0.80, 0.95], budget: 600), Seeded);
        Assert.That(10_000 - decision.FinalPriceCents, Is.LessThanOrEqualTo(600));
    }

    [Test]
    public void Decide_WhenAlwaysExploring_DrawsEveryAllowedLevelWithUniformPropensity()
    {
        var policy = new DiscountPolicy(new DiscountingOptions { ExplorationShare = 1 });
        var random = new Random(11);
        var decisions = Enumerable.Range(0, 2_000).Select(_ => policy.Decide(Input([0.5, 0.5, 0.5, 0.5, 0.5]), random)).ToList();

        Assert.That(decisions.Select(d => d.Percent).Distinct(), Is.EquivalentTo(new[] { 0, 5, 10, 15, 20 }));
        Assert.That(decisions, Has.All.Matches<PolicyDecision>(d => d.IsExploration));
        Assert.That(decisions.Where(d => d.Percent != 0).Select(d => d.Propensity).Distinct(), Is.EqualTo(new[] { 0.2 }).Within(1e-12));
        Assert.That(decisions.Count(d => d.Percent == 20), Is.InRange(320, 480));
    }

    [Test]
    public void Decide_WhenExploringAtFivePercent_GreedyLevelCarriesItsTruePropensity()
    {
        var policy = new DiscountPolicy(new DiscountingOptions { ExplorationShare = 0.05 });
        var decisions = Enumerable.Range(0, 500).Select(_ => policy.Decide(Input([0.90, 0.90, 0.90, 0.90, 0.90]), Seeded)).ToList();
        var greedy = decisions.First(d => !d.IsExploration);

        Assert.That(greedy.Percent, Is.Zero);
        Assert.That(greedy.Propensity, Is.EqualTo(0.95 + 0.05 / 5).Within(1e-12));
        Assert.That(decisions.Count(d => d.IsExploration), Is.InRange(5, 60));
    }

    [Test]
    public void Options_WhenLadderDoesNotStartAtZero_AreInvalid()
    {
        var results = new DiscountingOptions { Ladder = [5, 10] }.Validate(new System.ComponentModel.DataAnnotations.ValidationContext(new object())).ToList();
        Assert.That(results, Is.Not.Empty);
    }
}

public sealed class CouponPolicyTests
{
    private static readonly DiscountingOptions Options = new() { ExplorationShare = 0 };

    [Test]
    public void Decide_WhenBasketsAreMuchLargerThanTheItem_ChoosesACouponOnTheBasket()
    {
        // A 2 000-cent item for a user whose baskets average 12 000: 10 % of the basket is a 1 200-cent coupon.
        var input = new PolicyInput(2_000, 1_000, [0.05, 0.12, 0.22, 0.26, 0.28], true, 3, 1_000_000, ExpectedBasketCents: 12_000);

        var decision = new DiscountPolicy(Options).Decide(input, explorer: null);

        Assert.Multiple(() =>
        {
            Assert.That(decision.Coupon, Is.Not.Null);
            Assert.That(decision.Coupon!.AmountOffCents % 50, Is.Zero);
            Assert.That(decision.Coupon.MinimumBasketCents, Is.EqualTo(12_000));
            Assert.That(decision.Percent, Is.Zero);
            Assert.That(decision.FinalPriceCents, Is.EqualTo(2_000));
            // The basket keeps cost share 50 % plus the 10 % floor: at least 6 600 of 12 000 must remain.
            Assert.That(12_000 - decision.Coupon.AmountOffCents, Is.GreaterThanOrEqualTo(6_600));
            Assert.That(decision.ExpectedIncrementalProfitCents, Is.GreaterThan(DiscountPolicy.IncrementalProfit(2_000, 1_000, 0.05, 0.22, 10)));
        });
    }

    [Test]
    public void Decide_WhenBasketIsNoBiggerThanTheItem_StaysWithPercentOff()
    {
        var input = new PolicyInput(10_000, 4_000, [0.05, 0.12, 0.22, 0.26, 0.28], true, 3, 1_000_000, ExpectedBasketCents: 10_000);
        var decision = new DiscountPolicy(Options).Decide(input, explorer: null);
        Assert.That(decision.Coupon, Is.Null);
        Assert.That(decision.Percent, Is.EqualTo(15));
    }

    [Test]
    public void Decide_WhenCouponsAreDisabled_NeverOffersOne()
    {
        var options = new DiscountingOptions { ExplorationShare = 0, CouponsEnabled = false };
        var input = new PolicyInput(2_000, 1_000, [0.05, 0.12, 0.22, 0.26, 0.28], true, 3, 1_000_000, ExpectedBasketCents: 12_000);
        Assert.That(new DiscountPolicy(options).Decide(input, explorer: null).Coupon, Is.Null);
    }
}
