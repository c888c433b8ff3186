using System.Text.Json;
using Discounts.Core.Demo;
using Discounts.Core.Domain;

namespace Discounts.Tests.Core;

public sealed class DemoShopTests
{
    private static readonly DateTime Anchor = new(2026, 11, 1, 0, 0, 0, DateTimeKind.Utc);
    private static readonly Lazy<DemoShop> Shop = new(() => DemoShopGenerator.Generate(new DemoShopOptions(), Anchor));

    [Test]
    public void Generate_WhenSameSeedAndAnchor_ProducesIdenticalShop()
    {
        var options = new DemoShopOptions { ItemCount = 240, UserCount = 60 };
        var first = Fingerprint(DemoShopGenerator.Generate(options, Anchor));
        var second = Fingerprint(DemoShopGenerator.Generate(options, Anchor));
        var otherSeed = Fingerprint(DemoShopGenerator.Generate(options with { Seed = 7 }, Anchor));

        Assert.That(second, Is.EqualTo(first));
        Assert.That(otherSeed, Is.Not.EqualTo(first));
    }

    [Test]
    public void Generate_WhenDefaults_HasTheAdvertisedShape()
    {
        var shop = Shop.Value;
        Assert.Multiple(() =>
        {
            Assert.That(shop.Items, Has.Count.EqualTo(2_000));
            Assert.That(shop.Items.Select(i => i.Category).Distinct().Count(), Is.EqualTo(12));
            Assert.That(shop.Users, Has.Count.EqualTo(1_000));
            Assert.That(shop.Texts.Select(t => t.Kind).Distinct(), Is.EquivalentTo(Enum.GetValues<TextKind>()));
            Assert.That(shop.Events.Select(e => e.Kind).Distinct(), Is.EquivalentTo(Enum.GetValues<EventKind>()));
            Assert.That(shop.Items, Has.All.Matches<Item>(i => i.PriceCents > i.CostCents && i.CostCents > 0));
            Assert.That(shop.Events, Has.All.Matches<InteractionEvent>(e => e.OccurredAt.Kind == DateTimeKind.Utc && e.OccurredAt <= Anchor));
            Assert.That(shop.Events.Select(e => e.IdempotencyKey).Distinct().Count(), Is.EqualTo(shop.Events.Count));
            Assert.That(shop.Campaign.SpentCents, Is.LessThanOrEqualTo(shop.Campaign.BudgetCents).And.GreaterThan(0));
        });
    }

    [Test]
    public void Generate_WhenUsersPurchase_PurchasesConcentrateOnHiddenFavouriteCategories()
    {
        var shop = Shop.Value;
        var items = shop.Items.ToDictionary(i => i.Id);
        var hits = 0;
        var judged = 0;
        double favouriteShare = 0;
        foreach (var (user, taste) in shop.Users.Zip(shop.Tastes))
        {
            var bought = shop.Events.Where(e => e.UserId == user.Id && e.Kind == EventKind.Purchase).Select(e => items[e.ItemId].Category).ToList();
            if (bought.Count < 3)
            {
                continue;
            }

            judged++;
            var top = bought.GroupBy(c => c).OrderByDescending(g => g.Count()).First().Key;
            hits += taste.FavouriteCategories.Contains(top) ? 1 : 0;
            favouriteShare += bought.Count(taste.FavouriteCategories.Contains) / (double)bought.Count;
        }

        // Chance would put 2 of 12 categories, 17 %, on top.
        Assert.That(judged, Is.GreaterThan(500));
        Assert.That(hits / (double)judged, Is.GreaterThan(0.85));
        Assert.That(favouriteShare / judged, Is.GreaterThan(0.7));
    }

    [Test]
    public void Generate_WhenUsersWrite_TheirWordsFollowTheirHiddenTastes()
    {
        var shop = Shop.Value;
        var textsByUser = shop.Texts.ToLookup(t => t.UserId);
        var withFavouriteWord = shop.Users.Zip(shop.Tastes).Count(pair =>
            textsByUser[pair.First.Id].Where(t => t.Kind == TextKind.Search)
                .Count(t => pair.Second.FavouriteWords.Any(w => t.Text.Contains(w, StringComparison.OrdinalIgnoreCase)))
            >= textsByUser[pair.First.Id].Count(t => t.Kind == TextKind.Search) / 2.0);

        Assert.That(withFavouriteWord / (double)shop.Users.Count, Is.GreaterThan(0.8));
    }

    [Test]
    public void Generate_WhenOffersAreRandomised_PriceSensitiveUsersRespondAndInsensitiveDoNot()
    {
        var shop = Shop.Value;
        var tastes = shop.Users.Zip(shop.Tastes).ToDictionary(p => p.First.Id, p => p.Second);
        var bought = shop.Events.Where(e => e is { Kind: EventKind.Purchase, OfferId: not null }).Select(e => e.OfferId!.Value).ToHashSet();

        double Rate(bool sensitive, int percent)
        {
            var offers = shop.Offers.Where(o => o.DiscountPercent == percent && tastes[o.UserId].PriceSensitivity > 0.7 == sensitive
                                                && (sensitive || tastes[o.UserId].PriceSensitivity < 0.3)).ToList();
            return offers.Count(o => bought.Contains(o.Id)) / (double)offers.Count;
        }

        Assert.Multiple(() =>
        {
            Assert.That(shop.Offers, Has.All.Matches<Offer>(o => o.IsExploration && Math.Abs(o.Propensity - 0.2) < 1e-9));
            Assert.That(Rate(sensitive: true, 20), Is.GreaterThan(1.8 * Rate(sensitive: true, 0)));
            Assert.That(Rate(sensitive: false, 20), Is.LessThan(1.6 * Rate(sensitive: false, 0)));
        });
    }

    private static string Fingerprint(DemoShop shop) => JsonSerializer.Serialize(new
    {
        Items = shop.Items.Select(i => new { i.ExternalId, i.Title, i.Description, i.Category, i.PriceCents, i.CostCents, i.CreatedAt }),
        Users = shop.Users.Select(u => new { u.ExternalId, u.CreatedAt, u.ConsentMarketing }),
        Texts = shop.Texts.Select(t => new { t.UserId, t.Kind, t.Text, t.ItemId, t.Rating, t.OccurredAt }),
        Events = shop.Events.Select(e => new { e.UserId, e.ItemId, e.Kind, e.PriceCents, e.DiscountPercent, e.OfferId, e.OccurredAt }),
        shop.Tastes,
    });
}
