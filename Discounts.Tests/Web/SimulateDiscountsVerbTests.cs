using System.Text.Json;
using Discounts.Core.Demo;
using Discounts.Core.Discounting;
using Discounts.Web.Cli;

namespace Discounts.Tests.Web;

[NonParallelizable]
public sealed class SimulateDiscountsVerbTests
{
    [Test]
    [Category("Slow")]
    public void Run_WhenOneSeedIsAsked_PrintsOneJsonLineWhoseSharesAreThatShopsSimulation()
    {
        // The base encoder is converted into a throwaway data directory, as on a fresh machine.
        var run = VerbConsole.RunInThrowawayDirectory("discounts-simulate-", dataDirectory => SimulateDiscountsVerb.Run(["--seeds", "3", "--data-dir", dataDirectory]));

        Assert.That(run.ExitCode, Is.Zero);
        using var json = JsonDocument.Parse(run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Single());
        var root = json.RootElement;
        var shares = root.GetProperty("medianOracleShare");
        var direct = PolicySimulation.Run(DemoShopGenerator.Generate(new DemoShopOptions { Seed = 3 }, new DateTime(2026, 11, 1, 0, 0, 0, DateTimeKind.Utc)),
            new DiscountingOptions { ExplorationShare = 0 }).Strategies.ToDictionary(s => s.Strategy);
        Assert.Multiple(() =>
        {
            Assert.That(root.GetProperty("shops").GetInt32(), Is.EqualTo(1));
            Assert.That(root.GetProperty("breaches").GetInt32(), Is.Zero);
            Assert.That(shares.GetProperty("noDiscount").GetDouble(), Is.Zero);
            Assert.That(shares.GetProperty("textOff").GetDouble(),
                Is.EqualTo(direct["uplift policy"].IncrementalProfitCents / direct["oracle"].IncrementalProfitCents).Within(1e-4));
            Assert.That(shares.GetProperty("flat10").GetDouble(),
                Is.EqualTo(direct["10% for everyone"].IncrementalProfitCents / direct["oracle"].IncrementalProfitCents).Within(1e-4));
            Assert.That(shares.GetProperty("language").GetDouble(), Is.InRange(0.0, 1.0));
            Assert.That(root.GetProperty("languageBeatsFlatOn").GetInt32(), Is.InRange(0, 1));
            // The learned reading of the users' words follows their hidden price sensitivity (0.59 on this shop).
            Assert.That(root.GetProperty("perShop")[0].GetProperty("languageReadingCorrelation").GetDouble(), Is.GreaterThan(0.3));
        });
    }

    [TestCase("1-3,7", new[] { 1, 2, 3, 7 })]
    [TestCase("20261128", new[] { 20261128 })]
    [TestCase("4, 2-3", new[] { 4, 2, 3 })]
    public void ParseSeeds_WhenRangesAndListsMix_ReturnsEverySeedOnce(string text, int[] expected)
    {
        Assert.That(SimulateDiscountsVerb.ParseSeeds(text), Is.EqualTo(expected));
    }

    [TestCase("5-2")]
    [TestCase("abc")]
    [TestCase("-3")]
    [TestCase(",")]
    public void ParseSeeds_WhenTextIsNoSeed_ThrowsCliExceptionNamingTheOption(string text)
    {
        Assert.That(() => SimulateDiscountsVerb.ParseSeeds(text), Throws.TypeOf<CliException>().With.Message.Contains("--seeds"));
    }

    [Test]
    public void Run_WhenShopsIsZero_ThrowsCliExceptionNamingTheOption()
    {
        Assert.That(() => SimulateDiscountsVerb.Run(["--shops", "0"]), Throws.TypeOf<CliException>().With.Message.Contains("--shops"));
    }
}
