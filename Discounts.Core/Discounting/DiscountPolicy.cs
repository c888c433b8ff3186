namespace Discounts.Core.Discounting;

/// <summary>What the policy knows about one (user, item) when it quotes.</summary>
public sealed record PolicyInput(
    long PriceCents,
    long CostCents,
    IReadOnlyList<double> PurchaseProbabilityByLevel,
    bool ConsentsToPersonalisation,
    int DiscountsLeftToday,
    long? BudgetLeftCents,
    long ExpectedBasketCents = 0);

/// <summary>A fixed amount off a basket of at least a minimum, valued like a percent on the expected basket.</summary>
public sealed record Coupon(long AmountOffCents, long MinimumBasketCents, double EffectivePercent, double ExpectedIncrementalProfitCents, double ProbabilityWith);

public sealed record PolicyDecision(
    int Percent,
    long FinalPriceCents,
    double ProbabilityWithout,
    double ProbabilityWith,
    double ExpectedIncrementalProfitCents,
    double Propensity,
    bool IsExploration,
    IReadOnlyList<string> Constraints,
    Coupon? Coupon = null);

/// <summary>
/// Picks the discount level that maximises expected incremental profit over no discount:
/// (p(d) − p(0)) × (price × (1 − d) − cost) − p(0) × price × d.
/// The second term is what a discount costs on purchases that would have happened anyway, so a sure thing gets
/// nothing. Levels that break a guardrail are never candidates; an exploration share draws uniformly among the rest.
/// </summary>
public sealed class DiscountPolicy(DiscountingOptions options)
{
    public static long FinalPrice(long priceCents, int percent) => priceCents * (100 - percent) / 100;

    public static double IncrementalProfit(long priceCents, long costCents, double p0, double pd, int percent)
    {
        var d = percent / 100.0;
        return (pd - p0) * (priceCents * (1 - d) - costCents) - p0 * priceCents * d;
    }

    public long MarginFloorPrice(long costCents) => (long)Math.Ceiling(costCents * (1 + options.MarginFloor));

    /// <summary>Decides one quote; without an explorer it is purely greedy, as when evaluating the policy offline.</summary>
    public PolicyDecision Decide(PolicyInput input, Random? explorer)
    {
        if (input.PurchaseProbabilityByLevel.Count != options.Ladder.Length)
        {
            throw new ArgumentException("One purchase probability per ladder level is needed.", nameof(input));
        }

        var constraints = new List<string>();
        var allowed = AllowedLevels(input, constraints);
        var p0 = input.PurchaseProbabilityByLevel[0];
        var greedy = allowed.MaxBy(level => (Profit(input, level), -level));
        var share = explorer is null ? 0 : options.ExplorationShare;
        var explore = allowed.Count > 1 && explorer is not null && explorer.NextDouble() < share;
        var chosen = explore ? allowed[explorer!.Next(allowed.Count)] : greedy;
        var propensity = allowed.Count == 1 ? 1 : share / allowed.Count + (chosen == greedy ? 1 - share : 0);
        var percent = options.Ladder[chosen];
        var decision = new PolicyDecision(
            percent,
            FinalPrice(input.PriceCents, percent),
            p0,
            input.PurchaseProbabilityByLevel[chosen],
            Profit(input, chosen),
            propensity,
            explore,
            constraints);
        var coupon = explore || allowed.Count == 1 ? null : BestCoupon(input, allowed);
        return coupon is not null && coupon.ExpectedIncrementalProfitCents > Math.Max(0, decision.ExpectedIncrementalProfitCents)
            ? decision with { Percent = 0, FinalPriceCents = input.PriceCents, ProbabilityWith = coupon.ProbabilityWith, ExpectedIncrementalProfitCents = coupon.ExpectedIncrementalProfitCents, Coupon = coupon }
            : decision;
    }

    /// <summary>
    /// When the user's baskets are well above this item's price, a coupon of the same depth on the whole basket may
    /// earn more: its value is read as a percent of the expected basket, its cost as that basket's cost at the item's
    /// cost share, and the margin floor applies to the basket.
    /// </summary>
    private Coupon? BestCoupon(PolicyInput input, List<int> allowedLevels)
    {
        var basket = input.ExpectedBasketCents;
        if (!options.CouponsEnabled || basket < input.PriceCents * options.CouponMinimumBasketRatio)
        {
            return null;
        }

        var costShare = input.CostCents / (double)input.PriceCents;
        var basketCost = basket * costShare;
        var minimumBasket = basket / 100 * 100;
        var p0 = input.PurchaseProbabilityByLevel[0];
        Coupon? best = null;
        foreach (var level in allowedLevels.Where(l => l > 0))
        {
            var amount = basket * options.Ladder[level] / 100 / 50 * 50;
            if (amount == 0 || minimumBasket - amount < Math.Ceiling(minimumBasket * costShare * (1 + options.MarginFloor))
                || (input.BudgetLeftCents is { } budget && amount > budget))
            {
                continue;
            }

            var effectivePercent = 100.0 * amount / basket;
            var p = ProbabilityAt(input.PurchaseProbabilityByLevel, effectivePercent);
            var gain = (p - p0) * (basket - amount - basketCost) - p0 * amount;
            if (best is null || gain > best.ExpectedIncrementalProfitCents)
            {
                best = new Coupon(amount, minimumBasket, effectivePercent, gain, p);
            }
        }

        return best;
    }

    /// <summary>p(buy) at any depth, read linearly between the ladder's levels.</summary>
    private double ProbabilityAt(IReadOnlyList<double> byLevel, double percent)
    {
        for (var level = 1; level < options.Ladder.Length; level++)
        {
            if (percent <= options.Ladder[level])
            {
                var low = options.Ladder[level - 1];
                var t = (percent - low) / (options.Ladder[level] - low);
                return byLevel[level - 1] + t * (byLevel[level] - byLevel[level - 1]);
            }
        }

        return byLevel[^1];
    }

    private double Profit(PolicyInput input, int level) => level == 0
        ? 0
        : IncrementalProfit(input.PriceCents, input.CostCents, input.PurchaseProbabilityByLevel[0], input.PurchaseProbabilityByLevel[level], options.Ladder[level]);

    /// <summary>Ladder indices that break no guardrail; 0 (no discount) is always allowed.</summary>
    private List<int> AllowedLevels(PolicyInput input, List<string> constraints)
    {
        if (!input.ConsentsToPersonalisation)
        {
            constraints.Add("the customer has not agreed to personalised offers");
            return [0];
        }

        if (input.DiscountsLeftToday <= 0)
        {
            constraints.Add($"the daily limit of {options.MaxDiscountsPerUserPerDay} discounts is reached");
            return [0];
        }

        var allowed = new List<int> { 0 };
        var floor = MarginFloorPrice(input.CostCents);
        for (var level = 1; level < options.Ladder.Length; level++)
        {
            var percent = options.Ladder[level];
            var finalPrice = FinalPrice(input.PriceCents, percent);
            if (percent > options.MaxPercent)
            {
                AddOnce(constraints, $"discounts above {options.MaxPercent}% are not allowed");
            }
            else if (finalPrice < floor)
            {
                AddOnce(constraints, $"the margin floor keeps the price at or above {floor} cents");
            }
            else if (input.BudgetLeftCents is { } budget && input.PriceCents - finalPrice > budget)
            {
                AddOnce(constraints, "the campaign budget left is too small for larger discounts");
            }
            else
            {
                allowed.Add(level);
            }
        }

        return allowed;
    }

    private static void AddOnce(List<string> constraints, string constraint)
    {
        if (!constraints.Contains(constraint))
        {
            constraints.Add(constraint);
        }
    }
}
