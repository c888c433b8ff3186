using Discounts.Core.Demo;
using Discounts.Core.Discounting;

namespace Discounts.Tests.Core.Discounting;

public sealed class PolicySimulationTests
{
    [Test]
    public void Run_WhenHeldOutDemoUsersArePriced_PolicyEarnsMoreThanNoDiscountsWithinGuardrails()
    {
        var shop = DemoShopGenerator.Generate(new DemoShopOptions(), new DateTime(2026, 11, 1, 0, 0, 0, DateTimeKind.Utc));
        var result = PolicySimulation.Run(shop, new DiscountingOptions { ExplorationShare = 0 });
        var byName = result.Strategies.ToDictionary(s => s.Strategy);
        foreach (var s in result.Strategies)
        {
            TestContext.Out.WriteLine($"{s.Strategy}: profit {s.ExpectedProfitCents / 100:F0}, incremental {s.IncrementalProfitCents / 100:F0}, purchases {s.ExpectedPurchases:F1}, discounted {s.DiscountedShare:P0}, breaches {s.GuardrailBreaches}");
        }

        TestContext.Out.WriteLine($"{result.Decisions} decisions over {result.HeldOutUsers} held-out users; model trained on {result.TrainingOffers} offers; {result.Quality}");
        Assert.Multiple(() =>
        {
            Assert.That(result.HeldOutUsers, Is.EqualTo(500));
            Assert.That(byName["uplift policy"].ExpectedProfitCents, Is.GreaterThan(byName["no discounts"].ExpectedProfitCents));
            // Not yet asserted, recorded in docs/BENCHMARKS.md: the policy still earns less than 10 % for everyone.
            Assert.That(result.Quality.UpliftCorrelation, Is.GreaterThan(0.3));
            Assert.That(byName["uplift policy"].GuardrailBreaches, Is.Zero);
            Assert.That(byName["uplift policy"].DiscountedShare, Is.InRange(0.05, 0.95));
        });
    }
}
