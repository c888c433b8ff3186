using Discounts.Core.Domain;
using Discounts.Core.Recommending;

namespace Discounts.Tests.Core.Recommending;

public sealed class RankingOrderTests
{
    [TestCase(1, 10, 0.0)]
    [TestCase(2, 10, 0.9)]
    [TestCase(3, 40, 0.97)]
    [TestCase(4, 5, 1.0)]
    public void Order_WhenTheCategoryCapWalksPastTheTopFew_GivesWhatRankingEverythingGives(int seed, int count, double oneCategoryShare)
    {
        var random = new Random(seed);
        // Most items in category 0 when oneCategoryShare is high, so the cap must look far down the ranking.
        var items = Enumerable.Range(1, 600).Select(i => new CatalogueRow(
            i, $"sku-{i}", $"item {i}", "", random.NextDouble() < oneCategoryShare ? "Main" : $"Other {i % 4}", "Brand", DateTime.UtcNow.AddDays(-100))).ToList();
        var index = CatalogueIndex.Build(items, [], DateTime.UtcNow, new RecommendationOptions());
        var blend = new BlendModel("test", "none", Enumerable.Range(0, RecommendationFeatures.Count).Select(_ => random.NextDouble()).ToArray(), -1);
        var rules = new RankingRules(MaxPerCategory: 3, DiversityWindow: 10);
        for (var user = 0; user < 50; user++)
        {
            var candidates = Enumerable.Range(0, 450).Select(_ => random.Next(index.Count)).Distinct().Select(row =>
            {
                var candidate = new Candidate(row);
                for (var f = 0; f < RecommendationFeatures.Count; f++)
                {
                    // Coarse values, so equal scores occur and the item tie-break counts.
                    candidate.Features[f] = random.Next(4) / 3f;
                }

                return candidate;
            }).ToList();

            var ordered = RankingEngine.Order(index, candidates, blend, stranger: false, rules, count).Select(c => c.Item).ToList();
            var everything = Diversity.Apply(RankingOrder.Sort(candidates), c => index.CategoryOf[c.Item], rules.MaxPerCategory, rules.DiversityWindow, count)
                .Select(c => c.Item).ToList();

            Assert.That(ordered, Is.EqualTo(everything), $"user {user}");
        }
    }
}
