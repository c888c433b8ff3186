using Discounts.Core.Demo;
using Discounts.Core.Domain;
using Discounts.Core.Profiling;

namespace Discounts.Tests.Core.Profiling;

/// <summary>The profiles built from the demo shop recover the tastes the generator hid in its users.</summary>
public sealed class ProfileComputationTests
{
    private static readonly DateTime Anchor = new(2026, 11, 1, 0, 0, 0, DateTimeKind.Utc);

    private static readonly Lazy<(DemoShop Shop, TextProfileModel Model, IReadOnlyList<BuiltProfile> Profiles)> Built = new(() =>
    {
        var shop = DemoShopGenerator.Generate(new DemoShopOptions(), Anchor);
        var documents = shop.Texts.Select(t => (IReadOnlyList<string>)Tokenizer.Tokenize(t.Text)).ToList();
        var model = TextProfileModel.Fit(documents, new TextModelOptions { LdaIterations = 50 }, Anchor);
        return (shop, model, ProfileComputation.Build(Activities(shop), model, Anchor));
    });

    [Test]
    public void Build_WhenDemoUsersHaveEnoughEvents_TopTwoAffinityHoldsAHiddenFavourite()
    {
        var (shop, _, profiles) = Built.Value;
        var judged = 0;
        var hits = 0;
        foreach (var (profile, taste) in profiles.Zip(shop.Tastes))
        {
            if (profile.Behaviour.Events < 20)
            {
                continue;
            }

            judged++;
            var topTwo = profile.Behaviour.CategoryAffinity.Take(2).Select(a => a.Category);
            hits += topTwo.Any(taste.FavouriteCategories.Contains) ? 1 : 0;
        }

        TestContext.Out.WriteLine($"{hits} of {judged} users ({hits / (double)judged:P1})");
        Assert.That(judged, Is.GreaterThan(500));
        Assert.That(hits / (double)judged, Is.GreaterThanOrEqualTo(0.8), $"{hits} of {judged}");
    }

    [Test]
    public void Build_WhenDemoUsersWrote_KeywordsOverlapTheirFavouriteWords()
    {
        var (shop, _, profiles) = Built.Value;
        var textCounts = shop.Texts.GroupBy(t => t.UserId).ToDictionary(g => g.Key, g => g.Count());
        var judged = 0;
        var hits = 0;
        foreach (var (profile, taste) in profiles.Zip(shop.Tastes))
        {
            if (textCounts.GetValueOrDefault(profile.UserId) < 3)
            {
                continue;
            }

            judged++;
            var keywords = profile.Keywords.Select(k => k.Term).ToHashSet();
            // Two-word favourites ("cast iron") count when either word is a keyword.
            hits += taste.FavouriteWords.SelectMany(w => w.Split(' ')).Any(keywords.Contains) ? 1 : 0;
        }

        TestContext.Out.WriteLine($"{hits} of {judged} users ({hits / (double)judged:P1})");
        Assert.That(judged, Is.GreaterThan(500));
        Assert.That(hits / (double)judged, Is.GreaterThanOrEqualTo(0.8), $"{hits} of {judged}");
    }

    [Test]
    public void Build_WhenUsersRespondToRandomisedDiscounts_PriceSensitivityTracksTheHiddenOne()
    {
        var (shop, _, profiles) = Built.Value;
        var pairs = profiles.Zip(shop.Tastes).Where(p => p.First.Behaviour.Purchases >= 2).ToList();
        var high = pairs.Where(p => p.Second.PriceSensitivity > 0.7).Average(p => p.First.Behaviour.PriceSensitivity);
        var low = pairs.Where(p => p.Second.PriceSensitivity < 0.3).Average(p => p.First.Behaviour.PriceSensitivity);

        TestContext.Out.WriteLine($"mean estimated sensitivity: hidden > 0.7 → {high:F3}, hidden < 0.3 → {low:F3}");
        Assert.That(high, Is.GreaterThan(low + 0.05), $"sensitive users {high:F3}, insensitive {low:F3}");
    }

    [Test]
    public void Build_WhenProfilesBuilt_FiguresAreConsistentAndTextIsRendered()
    {
        var (shop, model, profiles) = Built.Value;
        var purchases = shop.Events.Where(e => e.Kind == EventKind.Purchase).GroupBy(e => e.UserId)
            .ToDictionary(g => g.Key, g => (Count: g.Count(), Cents: g.Sum(e => e.PriceCents ?? 0)));
        Assert.Multiple(() =>
        {
            Assert.That(profiles, Has.Count.EqualTo(shop.Users.Count));
            Assert.That(profiles, Has.All.Matches<BuiltProfile>(p => p.TextModelVersion == model.Version));
            Assert.That(profiles, Has.All.Matches<BuiltProfile>(p =>
                p.Behaviour.Purchases == purchases.GetValueOrDefault(p.UserId).Count
                && p.Behaviour.MonetaryCents == purchases.GetValueOrDefault(p.UserId).Cents));
            Assert.That(profiles, Has.All.Matches<BuiltProfile>(p => p.Behaviour.ChurnRisk is >= 0 and <= 1 && p.Behaviour.PriceSensitivity is >= 0 and <= 1));
            Assert.That(profiles.Where(p => p.Topics.Count > 0), Has.All.Matches<BuiltProfile>(p =>
                p.Topics.Sum(t => t.Share) <= 1.001 && p.Topics.Zip(p.Topics.Skip(1)).All(pair => pair.First.Share >= pair.Second.Share)));
            Assert.That(profiles.Count(p => p.ProfileText.Contains("likes: ", StringComparison.Ordinal)
                                            && p.ProfileText.Contains("keywords: ", StringComparison.Ordinal)), Is.GreaterThan(900));
        });
    }

    [Test]
    public void Score_WhenOneUserIsScoredAlone_MatchesTheBatchWithoutRefitting()
    {
        var (shop, model, profiles) = Built.Value;
        var user = shop.Users[7];
        var alone = model.Score(ProfileComputation.Tokens(shop.Texts.Where(t => t.UserId == user.Id)));
        var inBatch = profiles.Single(p => p.UserId == user.Id);

        Assert.That(alone.Keywords.Select(k => k.Term), Is.EqualTo(inBatch.Keywords.Select(k => k.Term)));
    }

    [Test]
    public void SaveAndLoad_WhenRoundTripped_KeepsVersionTopicsAndScores()
    {
        var (shop, model, _) = Built.Value;
        var directory = Directory.CreateTempSubdirectory("text-model-").FullName;
        try
        {
            model.Save(directory);
            var loaded = TextProfileModel.Load(directory, model.Version);
            var document = ProfileComputation.Tokens(shop.Texts.Where(t => t.UserId == shop.Users[3].Id));

            Assert.That(loaded.Version, Is.EqualTo(model.Version));
            Assert.That(loaded.Topics.Select(t => t.TopWords.Select(w => w.Term)), Is.EqualTo(model.Topics.Select(t => t.TopWords.Select(w => w.Term))));
            Assert.That(loaded.Score(document).Keywords, Is.EqualTo(model.Score(document).Keywords));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Test]
    public void Render_WhenGivenAProfile_IsCompactAndOrdered()
    {
        var topics = new[] { new Topic(0, [new("serum", 1), new("retinol", 0.5)]), new Topic(1, [new("tent", 1), new("hiking", 0.5)]) };
        var text = ProfileText.Render(
            [new("retinol", 0.9), new("spf", 0.4)], [0.8, 0.2], topics, ["retinol serum", "spf 50"], [new("Skincare", 0.7), new("Outdoor", 0.2)]);

        Assert.That(text, Is.EqualTo("likes: skincare, outdoor | keywords: retinol spf | topics: serum retinol; tent hiking | searched: retinol serum; spf 50"));
    }

    internal static List<UserActivity> Activities(DemoShop shop)
    {
        var categories = shop.Items.ToDictionary(i => i.Id, i => i.Category);
        var exploration = shop.Offers.ToDictionary(o => o.Id, o => o.IsExploration);
        var texts = shop.Texts.ToLookup(t => t.UserId);
        var events = shop.Events.ToLookup(e => e.UserId, e => new BehaviourEvent(
            e.Kind, categories[e.ItemId], e.PriceCents, e.DiscountPercent, e.OfferId,
            e.OfferId is { } offer && exploration[offer], e.OccurredAt));
        return shop.Users.Select(u => new UserActivity(u.Id, texts[u.Id].ToList(), events[u.Id].ToList())).ToList();
    }
}
