using Discounts.Core.Domain;
using Discounts.Core.Profiling;

namespace Discounts.Tests.Core.Profiling;

public sealed class BehaviourProfileTests
{
    private static readonly DateTime Now = new(2026, 11, 28, 0, 0, 0, DateTimeKind.Utc);

    [Test]
    public void Compute_WhenNoEvents_ReturnsEmptyFigures() =>
        Assert.That(BehaviourProfile.Compute([], Now), Is.EqualTo(BehaviourFigures.Empty));

    [Test]
    public void Compute_WhenPurchasesMade_ReportsRecencyFrequencyAndMonetaryInCents()
    {
        var events = new[]
        {
            Event(EventKind.View, "Books", daysAgo: 60),
            Event(EventKind.Purchase, "Books", daysAgo: 50, priceCents: 1_999),
            Event(EventKind.Purchase, "Books", daysAgo: 20, priceCents: 2_501, discount: 10),
            Event(EventKind.View, "Toys", daysAgo: 5),
        };

        var figures = BehaviourProfile.Compute(events, Now);

        Assert.Multiple(() =>
        {
            Assert.That(figures.RecencyDays, Is.EqualTo(20));
            Assert.That(figures.DaysSinceLastActivity, Is.EqualTo(5));
            Assert.That(figures.Purchases, Is.EqualTo(2));
            Assert.That(figures.PurchasesPer30Days, Is.EqualTo(1.0));
            Assert.That(figures.MonetaryCents, Is.EqualTo(4_500));
            Assert.That(figures.AverageDiscountPercent, Is.EqualTo(5));
            Assert.That(figures.DiscountedPurchaseShare, Is.EqualTo(0.5));
            // Books: view 1 + two purchases 10 = 11 of 12.
            Assert.That(figures.CategoryAffinity.Select(a => a.Category), Is.EqualTo(new[] { "Books", "Toys" }));
            Assert.That(figures.CategoryAffinity[0].Share, Is.EqualTo(0.9167).Within(1e-4));
            // Silence of 5 days against a 30-day rhythm: 5 / (5 + 60).
            Assert.That(figures.ChurnRisk, Is.EqualTo(0.0769).Within(1e-4));
        });
    }

    [Test]
    public void Compute_WhenDiscountedExplorationOffersConvertAndFullPriceOnesDoNot_PriceSensitivityIsHigh()
    {
        var events = new List<BehaviourEvent>();
        for (var i = 0; i < 6; i++)
        {
            events.Add(Event(EventKind.OfferShown, "Snacks", daysAgo: 10 + i, discount: 20, offerId: i, exploration: true));
            events.Add(Event(EventKind.Purchase, "Snacks", daysAgo: 10 + i, priceCents: 400, discount: 20, offerId: i));
            events.Add(Event(EventKind.OfferShown, "Snacks", daysAgo: 30 + i, discount: 0, offerId: 100 + i, exploration: true));
        }

        var figures = BehaviourProfile.Compute(events, Now);

        Assert.That(figures.ExplorationResponse, Is.EqualTo(new DiscountResponse(6, 1.0, 6, 0.0)));
        Assert.That(figures.ExplorationResponse.Lift, Is.EqualTo(1.0));
        Assert.That(figures.PriceSensitivity, Is.GreaterThan(0.9));
    }

    [Test]
    public void Compute_WhenUserWentSilentForLong_ChurnRiskIsHigh()
    {
        var regular = Enumerable.Range(0, 5).Select(i => Event(EventKind.Purchase, "Coffee & Tea", daysAgo: 200 + 7 * i, priceCents: 900)).ToList();
        var figures = BehaviourProfile.Compute(regular, Now);

        // A weekly buyer silent for 200 days.
        Assert.That(figures.ChurnRisk, Is.GreaterThan(0.9));
    }

    private static BehaviourEvent Event(
        EventKind kind, string category, double daysAgo, long? priceCents = null, int discount = 0, long? offerId = null, bool exploration = false) =>
        new(kind, category, priceCents, discount, offerId, exploration, Now.AddDays(-daysAgo));
}

public sealed class ProfileComputationWithoutTextModelTests
{
    [Test]
    public void Build_WhenNoTextModelYet_GivesBehaviourOnlyProfiles()
    {
        var now = new DateTime(2026, 11, 28, 0, 0, 0, DateTimeKind.Utc);
        var events = new[] { new BehaviourEvent(Discounts.Core.Domain.EventKind.Purchase, "Books", 1_500, 0, null, false, now.AddDays(-3)) };

        var built = ProfileComputation.Build([new UserActivity(1, [], events)], model: null, now).Single();

        Assert.Multiple(() =>
        {
            Assert.That(built.Keywords, Is.Empty);
            Assert.That(built.Topics, Is.Empty);
            Assert.That(built.TextModelVersion, Is.Empty);
            Assert.That(built.Behaviour.MonetaryCents, Is.EqualTo(1_500));
            Assert.That(built.ProfileText, Is.EqualTo("likes: books"));
        });
    }
}
