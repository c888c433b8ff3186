using System.Collections.Concurrent;
using System.Diagnostics;
using Discounts.Core.Data;
using Discounts.Core.Discounting;
using Discounts.Core.Domain;
using Discounts.Web.Features.Discounts;
using Discounts.Web.Infrastructure;
using Mediator;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Discounts.Tests.Web;

/// <summary>
/// 100,000 randomised money decisions, run concurrently: policy decisions over random prices, costs, floors, caps and
/// budgets in process; real quotes through the quote handler; and a redemption race through the database. No final
/// price may fall below cost × (1 + floor), no campaign may be overspent, and no user may pass the daily cap.
/// </summary>
public sealed class MoneyPropertyTests
{
    private const int Decisions = 95_000;
    private const int Quotes = 1_000;
    private const int Redemptions = 4_000;

    [Test]
    public void Decide_WhenInputsAreRandom_NeverBreaksFloorMaximumCapBudgetOrConsent()
    {
        // New inputs every run, yet reproducible: the messages name the base seed, which the MoneySeed test parameter
        // sets again. Decision i draws from a generator seeded with the base seed plus i, not one per worker, because
        // which worker gets which decisions changes from run to run.
        var baseSeed = TestContext.Parameters.Get("MoneySeed", Random.Shared.Next());
        var violations = new ConcurrentBag<string>();
        var discounted = 0;
        Parallel.For(0, Decisions, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
        {
            var random = new Random(unchecked(baseSeed + i));
            var options = RandomOptions(random);
            var price = random.Next(4) == 0 ? random.NextInt64(0, 100) : random.NextInt64(1, 5_000_000);
            var cost = random.Next(10) == 0 ? price + random.NextInt64(0, 1_000) : (long)(price * random.NextDouble() * 1.2);
            var budget = random.Next(5) switch
            {
                0 => (long?)null,
                1 => 0,
                _ => random.NextInt64(0, price + 1),
            };
            var input = new PolicyInput(
                price, cost,
                Enumerable.Range(0, options.Ladder.Length).Select(_ => random.NextDouble()).ToArray(),
                ConsentsToPersonalisation: random.Next(6) != 0,
                DiscountsLeftToday: random.Next(-1, 4),
                budget,
                ExpectedBasketCents: random.Next(3) == 0 ? 0 : random.NextInt64(0, price * 5 + 1));
            var decision = new DiscountPolicy(options).Decide(input, random.Next(2) == 0 ? random : null);
            var problem = Check(options, input, decision);
            if (problem is not null)
            {
                violations.Add($"#{i} {problem}: {input} floor={options.MarginFloor} max={options.MaxPercent} ladder=[{string.Join(",", options.Ladder)}] → {decision}");
            }

            if (decision.Percent > 0 || decision.Coupon is not null)
            {
                Interlocked.Increment(ref discounted);
            }
        });

        TestContext.Out.WriteLine($"{Decisions} random decisions (base seed {baseSeed}), {discounted} discounted, {violations.Count} violations");
        Assert.That(discounted, Is.GreaterThan(Decisions / 20), $"enough discounts are given for the checks to mean something (base seed {baseSeed})");
        Assert.That(violations, Is.Empty, $"base seed {baseSeed}:\n" + string.Join("\n", violations.Take(10)));
    }

    [Test]
    public async Task QuoteAndRedeem_WhenRacedConcurrently_KeepFloorBudgetAndDailyCap()
    {
        var watch = Stopwatch.StartNew();
        var options = TestHost.Factory.Services.GetRequiredService<IOptions<DiscountingOptions>>().Value;
        var policy = new DiscountPolicy(options);
        var (campaignId, users, offerIds) = await SeedRaceAsync(new Random(9));

        // Real quotes through the handler, concurrently, for demo users on random items.
        var quoteViolations = new ConcurrentBag<string>();
        var quoted = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, Quotes), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, cancellationToken) =>
        {
            var random = new Random(i);
            var items = Enumerable.Range(0, 3).Select(_ => $"sku-{random.Next(1, 2001):D6}").Distinct().ToList();
            await using var scope = TestHost.Factory.Services.CreateAsyncScope();
            var result = await scope.ServiceProvider.GetRequiredService<ISender>().Send(
                new QuoteDiscount.Command($"user-{random.Next(1, 1001):D5}", items, null), cancellationToken);
            Interlocked.Add(ref quoted, result.Quotes.Count);
        });
        await using (var scope = TestHost.Factory.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<DiscountsDbContext>();
            var since = DateTime.UtcNow.AddMinutes(-10);
            var stored = await db.Offers.AsNoTracking().Include(o => o.Item).Where(o => o.CreatedAt >= since && o.Kind == OfferKind.PercentOff).ToListAsync();
            foreach (var offer in stored.Where(o => o.DiscountPercent > 0))
            {
                if (offer.FinalPriceCents < policy.MarginFloorPrice(offer.Item!.CostCents) || offer.DiscountPercent > options.MaxPercent)
                {
                    quoteViolations.Add($"{offer.ExternalId}: {offer.DiscountPercent}% final {offer.FinalPriceCents} cost {offer.Item.CostCents}");
                }
            }
        }

        // The race: every offer redeemed by its owner, many twice, some by the wrong user, all at once.
        var random = new Random(11);
        var attempts = Enumerable.Range(0, Redemptions).Select(i =>
        {
            var (offer, owner) = offerIds[i % offerIds.Count];
            return (Offer: offer, User: random.Next(20) == 0 ? users[random.Next(users.Count)] : owner);
        }).OrderBy(_ => random.Next()).ToList();
        var outcomes = new ConcurrentDictionary<string, int>();
        await Parallel.ForEachAsync(attempts, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (attempt, cancellationToken) =>
        {
            await using var scope = TestHost.Factory.Services.CreateAsyncScope();
            string outcome;
            try
            {
                var result = await scope.ServiceProvider.GetRequiredService<ISender>().Send(new RedeemOffer.Command(attempt.Offer, attempt.User), cancellationToken);
                outcome = result.AlreadyRedeemed ? "already" : "redeemed";
            }
            catch (ConflictException)
            {
                outcome = "409";
            }
            catch (ProblemException problem)
            {
                outcome = problem.Status.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            outcomes.AddOrUpdate(outcome, 1, (_, n) => n + 1);
        });

        await using (var scope = TestHost.Factory.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<DiscountsDbContext>();
            var campaign = await db.Campaigns.AsNoTracking().SingleAsync(c => c.Id == campaignId);
            var redeemed = await db.Offers.AsNoTracking().Include(o => o.User)
                .Where(o => o.CampaignId == campaignId && o.Status == OfferStatus.Redeemed).ToListAsync();
            var charged = redeemed.Sum(o => o.Kind == OfferKind.FixedAmountCoupon ? o.AmountOffCents : o.ListPriceCents - o.FinalPriceCents);
            // The cap is per UTC day, so a race that crosses midnight may legitimately redeem more in all.
            var overCap = redeemed.Where(o => o.DiscountPercent > 0).GroupBy(o => (o.UserId, o.RedeemedAt!.Value.Date))
                .Where(g => g.Count() > options.MaxDiscountsPerUserPerDay).ToList();
            var redemptionEvents = await db.Events.CountAsync(e => e.Kind == EventKind.OfferRedeemed && e.Offer!.CampaignId == campaignId);
            TestContext.Out.WriteLine($"{quoted} quotes, {Redemptions} redemption attempts ({string.Join(", ", outcomes.OrderBy(o => o.Key).Select(o => $"{o.Key}×{o.Value}"))}); "
                                      + $"spent {campaign.SpentCents} of {campaign.BudgetCents}; {watch.Elapsed.TotalSeconds:F1} s");
            Assert.Multiple(() =>
            {
                Assert.That(quoted, Is.GreaterThanOrEqualTo(Quotes * 2));
                Assert.That(quoteViolations, Is.Empty, string.Join("\n", quoteViolations.Take(10)));
                Assert.That(campaign.SpentCents, Is.LessThanOrEqualTo(campaign.BudgetCents), "budget overspent");
                Assert.That(campaign.SpentCents, Is.EqualTo(charged), "spend equals the discounts of the redeemed offers");
                Assert.That(overCap.Select(g => g.Key), Is.Empty, "daily cap exceeded");
                Assert.That(redemptionEvents, Is.EqualTo(redeemed.Count), "one redemption event per redeemed offer");
                Assert.That(outcomes.GetValueOrDefault("403"), Is.GreaterThan(0), "offers claimed by the wrong user were refused");
                Assert.That(outcomes.GetValueOrDefault("409"), Is.GreaterThan(0), "the budget or the cap ran out, so both guards were exercised");
                Assert.That(outcomes.GetValueOrDefault("redeemed"), Is.GreaterThan(0));
            });
        }
    }

    /// <summary>A violated property, or null. Mirrors the guardrails as documented, not the code's internals.</summary>
    private static string? Check(DiscountingOptions options, PolicyInput input, PolicyDecision decision)
    {
        var floor = (long)Math.Ceiling(input.CostCents * (1 + options.MarginFloor));
        if (decision.Coupon is { } coupon)
        {
            var costShare = input.CostCents / (double)input.PriceCents;
            if (coupon.MinimumBasketCents - coupon.AmountOffCents < Math.Ceiling(coupon.MinimumBasketCents * costShare * (1 + options.MarginFloor)))
                return "coupon takes the basket below its margin floor";
            if (input.BudgetLeftCents is { } budget && coupon.AmountOffCents > budget) return "coupon above the budget left";
            if (decision.FinalPriceCents != input.PriceCents) return "a coupon changes the item price";
            if (coupon.EffectivePercent > options.MaxPercent + 1e-9) return "coupon deeper than the maximum";
        }

        if (decision.Percent > 0 || decision.Coupon is not null)
        {
            if (!input.ConsentsToPersonalisation) return "discount without consent";
            if (input.DiscountsLeftToday <= 0) return "discount past the daily cap";
        }

        if (decision.Percent > 0)
        {
            if (decision.FinalPriceCents < floor) return "final price below cost × (1 + floor)";
            if (decision.Percent > options.MaxPercent) return "deeper than the maximum";
            if (input.BudgetLeftCents is { } budget && input.PriceCents - decision.FinalPriceCents > budget) return "discount above the budget left";
            if (!options.Ladder.Contains(decision.Percent)) return "a level off the ladder";
        }

        if (decision.FinalPriceCents > input.PriceCents || decision.FinalPriceCents < 0) return "final price outside [0, price]";
        return decision.Propensity is > 0 and <= 1 ? null : "propensity outside (0, 1]";
    }

    private static DiscountingOptions RandomOptions(Random random)
    {
        var ladder = new List<int> { 0 };
        var steps = random.Next(1, 7);
        for (var i = 0; i < steps; i++)
        {
            ladder.Add(ladder[^1] + random.Next(1, 15));
        }

        return new DiscountingOptions
        {
            Ladder = ladder.Where(l => l <= 90).ToArray(),
            MaxPercent = random.Next(0, 60),
            MarginFloor = random.Next(4) == 0 ? 0 : random.NextDouble() * 2,
            MaxDiscountsPerUserPerDay = 3,
            ExplorationShare = random.NextDouble(),
            CouponsEnabled = random.Next(2) == 0,
            CouponMinimumBasketRatio = 1 + random.NextDouble(),
        };
    }

    /// <summary>A campaign whose budget funds about a third of the offers, 300 users with eight offers each on it.</summary>
    private static async Task<(long CampaignId, List<string> Users, List<(string Offer, string Owner)> Offers)> SeedRaceAsync(Random random)
    {
        await using var scope = TestHost.Factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<DiscountsDbContext>();
        var now = DateTime.UtcNow;
        var tag = Guid.NewGuid().ToString("N")[..8];
        var items = await db.Items.AsNoTracking().OrderBy(i => i.Id).Take(200).ToListAsync();
        var users = Enumerable.Range(0, 300).Select(i => new User { ExternalId = $"money-{tag}-{i}", CreatedAt = now, UpdatedAt = now, ConsentPersonalisation = true }).ToList();
        db.Users.AddRange(users);
        var campaign = new Campaign { ExternalId = $"money-{tag}", Name = "money race", BudgetCents = 0, StartsAt = now.AddDays(-1), IsActive = false };
        db.Campaigns.Add(campaign);
        await db.SaveChangesAsync();
        var offers = new List<Offer>();
        foreach (var user in users)
        {
            for (var k = 0; k < 8; k++)
            {
                var item = items[random.Next(items.Count)];
                var coupon = random.Next(8) == 0;
                var percent = coupon ? 0 : new[] { 0, 5, 10, 15, 20 }[random.Next(5)];
                offers.Add(new Offer
                {
                    ExternalId = $"money-{tag}-{user.Id}-{k}", UserId = user.Id, ItemId = item.Id, CampaignId = campaign.Id,
                    Kind = coupon ? OfferKind.FixedAmountCoupon : OfferKind.PercentOff,
                    DiscountPercent = coupon ? 10 : percent, AmountOffCents = coupon ? 500 : 0, MinimumBasketCents = coupon ? 5_000 : 0,
                    ListPriceCents = item.PriceCents, FinalPriceCents = coupon ? item.PriceCents : DiscountPolicy.FinalPrice(item.PriceCents, percent),
                    Propensity = 1, Reason = "money race", Status = OfferStatus.Quoted, CreatedAt = now,
                    // A few already expired: their redemption must be refused without charging anything.
                    ExpiresAt = random.Next(25) == 0 ? now.AddMinutes(-1) : now.AddHours(1),
                });
            }
        }

        db.Offers.AddRange(offers);
        campaign.BudgetCents = offers.Sum(o => o.Kind == OfferKind.FixedAmountCoupon ? o.AmountOffCents : o.ListPriceCents - o.FinalPriceCents) / 3;
        await db.SaveChangesAsync();
        var owners = users.ToDictionary(u => u.Id, u => u.ExternalId);
        return (campaign.Id, users.Select(u => u.ExternalId).ToList(), offers.Select(o => (o.ExternalId, owners[o.UserId])).ToList());
    }
}
