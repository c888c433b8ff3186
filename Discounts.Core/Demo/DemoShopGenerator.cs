using Bogus;
using Discounts.Core.Domain;

namespace Discounts.Core.Demo;

public sealed record DemoShopOptions
{
    public int Seed { get; init; } = 20_261_128;
    public int ItemCount { get; init; } = 2_000;
    public int UserCount { get; init; } = 1_000;
    /// <summary>How far back the generated history reaches.</summary>
    public int HistoryDays { get; init; } = 180;
    /// <summary>Share of views that came with a randomly drawn discount from the ladder.</summary>
    public double RandomisedOfferShare { get; init; } = 0.5;
}

/// <summary>
/// What the demo generator planted in one user and never stores: the categories and words they like and how much a
/// discount moves them. Tests and simulations read it to check that models recover it.
/// </summary>
public sealed record DemoTaste(
    string UserExternalId,
    IReadOnlyDictionary<string, double> CategoryWeights,
    IReadOnlyList<string> FavouriteWords,
    double PriceSensitivity,
    double BaseBuyRate)
{
    public IReadOnlyList<string> FavouriteCategories =>
        CategoryWeights.OrderByDescending(kv => kv.Value).Take(2).Select(kv => kv.Key).ToList();
}

public sealed record DemoShop(
    IReadOnlyList<Item> Items,
    IReadOnlyList<User> Users,
    IReadOnlyList<UserText> Texts,
    IReadOnlyList<InteractionEvent> Events,
    IReadOnlyList<Offer> Offers,
    Campaign Campaign,
    IReadOnlyList<DemoTaste> Tastes)
{
    /// <summary>
    /// The ground truth the history was drawn from: the chance that a user who views an item buys it at a discount.
    /// A discount multiplies the chance by (1 + 8 × sensitivity × d), so insensitive users buy the same without one.
    /// </summary>
    public static double PurchaseProbability(DemoTaste taste, Item item, int discountPercent)
    {
        var categoryWeight = taste.CategoryWeights.GetValueOrDefault(item.Category);
        var text = $"{item.Title} {item.Description}";
        var wordMatches = taste.FavouriteWords.Count(w => text.Contains(w, StringComparison.OrdinalIgnoreCase));
        var category = DemoCatalogue.ByName(item.Category);
        var midPrice = Math.Sqrt((double)category.MinPriceCents * category.MaxPriceCents);
        var priceFactor = Math.Exp(-0.6 * taste.PriceSensitivity * Math.Log(item.PriceCents / midPrice));
        var baseline = taste.BaseBuyRate * (0.3 + 2.0 * categoryWeight) * (1 + 0.8 * wordMatches) * priceFactor;
        var lift = 1 + 8.0 * taste.PriceSensitivity * discountPercent / 100.0;
        return Math.Clamp(baseline * lift, 0, 0.95);
    }
}

/// <summary>
/// Builds a deterministic demo shop with Bogus: a catalogue, users with hidden tastes, what they wrote and what they
/// did. Words, views and purchases all follow the same hidden tastes, so a model can recover them.
/// </summary>
public static class DemoShopGenerator
{
    private static readonly string[] BrandSuffixes = ["Labs", "& Co", "Naturals", "Studio", "Works", "House", "Goods"];

    public static DemoShop Generate(DemoShopOptions options, DateTime anchorUtc)
    {
        var faker = new Faker("en") { Random = new Randomizer(options.Seed) };
        var random = faker.Random;
        var brands = DemoCatalogue.Categories.ToDictionary(
            c => c.Name,
            _ => Enumerable.Range(0, 6).Select(_ => $"{faker.Name.LastName()} {random.ArrayElement(BrandSuffixes)}").ToArray());

        var items = GenerateItems(options, anchorUtc, faker, brands);
        var itemsByCategory = items.GroupBy(i => i.Category).ToDictionary(g => g.Key, g => g.ToArray());
        var campaign = new Campaign
        {
            Id = 1, ExternalId = "demo-always-on", Name = "Demo always-on discounts", BudgetCents = 50_000_000,
            StartsAt = anchorUtc.AddDays(-options.HistoryDays - 1), IsActive = true,
        };

        var users = new List<User>(options.UserCount);
        var tastes = new List<DemoTaste>(options.UserCount);
        var texts = new List<UserText>();
        var events = new List<InteractionEvent>();
        var offers = new List<Offer>();
        for (var u = 0; u < options.UserCount; u++)
        {
            var user = new User
            {
                Id = u + 1,
                ExternalId = $"user-{u + 1:D5}",
                CreatedAt = anchorUtc.AddDays(-random.Int(options.HistoryDays / 2, options.HistoryDays * 4)).AddMinutes(random.Int(0, 1439)),
                ConsentPersonalisation = random.Bool(0.92f),
                ConsentMarketing = random.Bool(0.6f),
            };
            user.UpdatedAt = user.CreatedAt;
            var taste = DrawTaste(user.ExternalId, random);
            users.Add(user);
            tastes.Add(taste);
            var history = new UserHistory(user, taste, anchorUtc, options, random, items, itemsByCategory, campaign, events, offers);
            history.Generate();
            texts.AddRange(WriteTexts(user, taste, history.Purchases, anchorUtc, options, faker, itemsByCategory));
        }

        AssignSequentialIds(texts, (t, id) => t.Id = id);
        return new DemoShop(items, users, texts, events, offers, campaign, tastes);
    }

    private static List<Item> GenerateItems(DemoShopOptions options, DateTime anchorUtc, Faker faker, Dictionary<string, string[]> brands)
    {
        var random = faker.Random;
        var items = new List<Item>(options.ItemCount);
        for (var i = 0; i < options.ItemCount; i++)
        {
            var category = DemoCatalogue.Categories[i % DemoCatalogue.Categories.Count];
            var noun = random.ArrayElement(category.Nouns);
            var words = random.ArrayElements(category.TasteWords, 2);
            var brand = random.ArrayElement(brands[category.Name]);
            var size = random.ArrayElement(category.Sizes);
            var logPrice = random.Double(Math.Log(category.MinPriceCents), Math.Log(category.MaxPriceCents));
            var price = (long)Math.Round(Math.Exp(logPrice) / 10) * 10 - 1;
            var created = anchorUtc.AddDays(-random.Double(0, 720));
            items.Add(new Item
            {
                Id = i + 1,
                ExternalId = $"sku-{i + 1:D6}",
                Title = $"{brand} {Capitalise(words[0])} {Capitalise(words[1])} {Capitalise(noun)}, {size}",
                Description = $"A {words[0]} {noun} from {brand}, made for people who care about {words[1]}. "
                              + faker.Commerce.ProductDescription(),
                Category = category.Name,
                Brand = brand,
                PriceCents = price,
                CostCents = (long)Math.Round(price * random.Double(0.35, 0.7)),
                CreatedAt = created,
                UpdatedAt = created,
            });
        }

        return items;
    }

    private static DemoTaste DrawTaste(string userExternalId, Randomizer random)
    {
        var categories = DemoCatalogue.Categories.Select(c => c.Name).ToArray();
        var favourites = random.ArrayElements(categories, 2);
        var weights = categories.ToDictionary(c => c, _ => 0.15 / (categories.Length - 2));
        weights[favourites[0]] = 0.55;
        weights[favourites[1]] = 0.30;
        var words = DemoCatalogue.ByName(favourites[0]).TasteWords.OrderBy(_ => random.Int()).Take(2)
            .Concat(DemoCatalogue.ByName(favourites[1]).TasteWords.OrderBy(_ => random.Int()).Take(1))
            .ToList();
        return new DemoTaste(userExternalId, weights, words, PriceSensitivity: random.Double(), BaseBuyRate: random.Double(0.04, 0.12));
    }

    /// <summary>One user's views, clicks, carts and purchases, some of them under randomised offers.</summary>
    private sealed class UserHistory(
        User user,
        DemoTaste taste,
        DateTime anchorUtc,
        DemoShopOptions options,
        Randomizer random,
        List<Item> items,
        Dictionary<string, Item[]> itemsByCategory,
        Campaign campaign,
        List<InteractionEvent> events,
        List<Offer> offers)
    {
        public List<(Item Item, DateTime At)> Purchases { get; } = [];

        public void Generate()
        {
            var start = Max(user.CreatedAt, anchorUtc.AddDays(-options.HistoryDays));
            var span = (anchorUtc - start).TotalMinutes;
            var viewCount = random.Int(8, 60);
            var times = Enumerable.Range(0, viewCount).Select(_ => start.AddMinutes(random.Double(0, span))).Order().ToList();
            foreach (var at in times)
            {
                var item = PickItem();
                Add(EventKind.View, item, at, item.PriceCents, 0, null);
                var discount = 0;
                Offer? offer = null;
                if (random.Double() < options.RandomisedOfferShare)
                {
                    discount = random.ArrayElement(DemoCatalogue.DiscountLadder.ToArray());
                    offer = Quote(item, discount, at);
                    Add(EventKind.OfferShown, item, at.AddSeconds(1), offer.FinalPriceCents, discount, offer);
                }

                var buy = random.Double() < DemoShop.PurchaseProbability(taste, item, discount);
                if (buy || random.Double() < 0.3)
                {
                    Add(EventKind.Click, item, at.AddSeconds(20), null, 0, null);
                }

                if (!buy)
                {
                    continue;
                }

                var paid = offer?.FinalPriceCents ?? item.PriceCents;
                Add(EventKind.Cart, item, at.AddMinutes(2), paid, discount, offer);
                Add(EventKind.Purchase, item, at.AddMinutes(5), paid, discount, offer);
                if (offer is { DiscountPercent: > 0 })
                {
                    offer.Status = OfferStatus.Redeemed;
                    offer.RedeemedAt = at.AddMinutes(5);
                    campaign.SpentCents += offer.ListPriceCents - offer.FinalPriceCents;
                    Add(EventKind.OfferRedeemed, item, at.AddMinutes(5), paid, discount, offer);
                }

                Purchases.Add((item, at.AddMinutes(5)));
            }
        }

        private Item PickItem()
        {
            if (random.Double() < 0.15)
            {
                return Pick(random, items);
            }

            var roll = random.Double();
            var category = taste.CategoryWeights.First(kv => (roll -= kv.Value) <= 0 || kv.Key == taste.CategoryWeights.Keys.Last()).Key;
            var candidates = itemsByCategory[category];
            var liked = candidates.Where(i => taste.FavouriteWords.Any(w => i.Title.Contains(w, StringComparison.OrdinalIgnoreCase))).ToArray();
            return liked.Length > 0 && random.Double() < 0.6 ? random.ArrayElement(liked) : random.ArrayElement(candidates);
        }

        private Offer Quote(Item item, int discount, DateTime at)
        {
            var offer = new Offer
            {
                Id = offers.Count + 1,
                ExternalId = $"demo-offer-{offers.Count + 1:D7}",
                UserId = user.Id,
                ItemId = item.Id,
                CampaignId = campaign.Id,
                Kind = OfferKind.PercentOff,
                DiscountPercent = discount,
                ListPriceCents = item.PriceCents,
                FinalPriceCents = item.PriceCents * (100 - discount) / 100,
                Propensity = 1.0 / DemoCatalogue.DiscountLadder.Count,
                IsExploration = true,
                ModelVersion = "demo-randomised",
                Reason = $"Randomised demo history: {discount}% drawn uniformly from the ladder.",
                Status = OfferStatus.Expired,
                CreatedAt = at,
                ExpiresAt = at.AddHours(24),
            };
            offers.Add(offer);
            return offer;
        }

        private void Add(EventKind kind, Item item, DateTime at, long? price, int discount, Offer? offer) =>
            events.Add(new InteractionEvent
            {
                Id = events.Count + 1,
                UserId = user.Id,
                ItemId = item.Id,
                Kind = kind,
                PriceCents = price,
                DiscountPercent = discount,
                OfferId = offer?.Id,
                IdempotencyKey = $"demo-{events.Count + 1:D8}",
                OccurredAt = Min(at, anchorUtc),
            });
    }

    private static IEnumerable<UserText> WriteTexts(
        User user, DemoTaste taste, List<(Item Item, DateTime At)> purchases, DateTime anchorUtc, DemoShopOptions options,
        Faker faker, Dictionary<string, Item[]> itemsByCategory)
    {
        var random = faker.Random;
        var start = Max(user.CreatedAt, anchorUtc.AddDays(-options.HistoryDays));
        DateTime SomeTime() => start.AddMinutes(random.Double(0, (anchorUtc - start).TotalMinutes));
        var favourite = taste.FavouriteCategories.Select(DemoCatalogue.ByName).ToArray();

        for (var i = random.Int(2, 6); i > 0; i--)
        {
            var category = random.Double() < 0.85 ? random.ArrayElement(favourite) : Pick(random, DemoCatalogue.Categories);
            var word = WordFor(taste, category, random);
            var noun = random.ArrayElement(category.Nouns);
            var query = random.Int(0, 3) switch
            {
                0 => $"{word} {noun}",
                1 => $"best {word} {noun}",
                2 => $"{noun} {word} under {random.Int(2, 9)}0",
                _ => $"{word} {noun} {random.ArrayElement(category.Sizes)}",
            };
            // Price-sensitive shoppers say so: they hunt for deals in what they type.
            if (random.Double() < 0.6 * taste.PriceSensitivity)
            {
                query = random.Int(0, 3) switch
                {
                    0 => $"cheap {query}",
                    1 => $"{query} on sale",
                    2 => $"{query} discount",
                    _ => $"{query} deal",
                };
            }

            yield return Text(user, TextKind.Search, query, null, null, SomeTime());
        }

        foreach (var (item, at) in purchases.Where(_ => random.Double() < 0.45))
        {
            var liked = taste.CategoryWeights[item.Category] >= 0.3;
            var rating = liked ? random.Int(4, 5) : random.Int(1, 4);
            var word = WordFor(taste, DemoCatalogue.ByName(item.Category), random);
            var noun = DemoCatalogue.ByName(item.Category).Nouns.FirstOrDefault(n => item.Title.Contains(n, StringComparison.OrdinalIgnoreCase)) ?? "product";
            var opening = rating >= 4
                ? random.ArrayElement([$"Love this {noun}!", $"Great {noun}, exactly what I wanted.", $"My new favourite {noun}."])
                : random.ArrayElement([$"The {noun} was just okay.", $"Not sure about this {noun}.", $"Disappointed with the {noun}."]);
            var body = rating >= 4
                ? $"I always look for {word} and this one delivers. {faker.Rant.Review(noun)}"
                : $"I wanted something more {word}. {faker.Rant.Review(noun)}";
            yield return Text(user, TextKind.Review, $"{opening} {body}", item.Id, rating, at.AddDays(random.Double(1, 10)) is var reviewed && reviewed < anchorUtc ? reviewed : anchorUtc);
        }

        for (var i = random.Int(0, 3); i > 0; i--)
        {
            var category = random.ArrayElement(favourite);
            var word = WordFor(taste, category, random);
            var noun = random.ArrayElement(category.Nouns);
            var item = random.ArrayElement(itemsByCategory[category.Name]);
            var message = random.Int(0, 3) switch
            {
                0 => $"Hi, do you have a {word} {noun} in stock?",
                1 => $"Is there a {word} version of the {item.Title}?",
                2 => $"Which {noun} would you recommend for someone who likes {word}?",
                _ => $"When will the {item.Brand} {noun} be back? I really want something {word}.",
            };
            if (random.Double() < 0.7 * taste.PriceSensitivity)
            {
                message += random.Int(0, 2) switch
                {
                    0 => " Is there a discount code?",
                    1 => " Any deals on it this week?",
                    _ => " It's a bit over my budget, will it go on sale?",
                };
            }

            yield return Text(user, TextKind.Chat, message, null, null, SomeTime());
        }
    }

    /// <summary>The user's own favourite word for this category when they have one, else any word of the category.</summary>
    private static string WordFor(DemoTaste taste, DemoCategory category, Randomizer random)
    {
        var own = taste.FavouriteWords.Where(category.TasteWords.Contains).ToList();
        return own.Count > 0 ? Pick(random, own) : random.ArrayElement(category.TasteWords);
    }

    private static UserText Text(User user, TextKind kind, string text, long? itemId, int? rating, DateTime at) =>
        new() { UserId = user.Id, Kind = kind, Text = text, ItemId = itemId, Rating = rating, OccurredAt = at };

    private static void AssignSequentialIds<T>(List<T> rows, Action<T, long> setId)
    {
        for (var i = 0; i < rows.Count; i++)
        {
            setId(rows[i], i + 1);
        }
    }

    private static T Pick<T>(Randomizer random, IReadOnlyList<T> list) => list[random.Int(0, list.Count - 1)];

    private static string Capitalise(string word) => char.ToUpperInvariant(word[0]) + word[1..];

    private static DateTime Max(DateTime a, DateTime b) => a > b ? a : b;

    private static DateTime Min(DateTime a, DateTime b) => a < b ? a : b;
}
