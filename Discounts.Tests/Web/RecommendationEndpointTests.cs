using System.Net;
using System.Net.Http.Json;
using Discounts.Core.Data;
using Discounts.Core.Domain;
using Discounts.Core.Recommending;
using Discounts.Core.Scoring;
using Discounts.Core.Serving;
using Discounts.Web.Features.Recommendations;
using Discounts.Web.Features.Users;
using Discounts.Web.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Discounts.Tests.Web;

public sealed class RecommendationEndpointTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(180);

    private static RecommendationOptions Options => TestHost.Factory.Services.GetRequiredService<IOptions<RecommendationOptions>>().Value;

    private static async Task<GetRecommendations.Result> GetAsync(HttpClient client, string userId, string query = "")
    {
        var response = await client.GetAsync($"/api/users/{userId}/recommendations{query}");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<GetRecommendations.Result>(TestJson.Options))!;
    }

    [Test]
    public async Task GetRecommendations_WhenKnownUser_ReturnsCountExplainedItemsWithoutBoughtNonConsumablesAndCategoryCapHolds()
    {
        using var client = TestHost.Client(ApiRole.Shop);
        await TestHost.WaitForProfileAsync(client, "user-00005");

        var result = await GetAsync(client, "user-00005", "?count=25");
        var bought = await TestHost.ReadAsync(db => db.Events.Where(e => e.User!.ExternalId == "user-00005" && e.Kind == EventKind.Purchase)
            .Select(e => new { e.Item!.ExternalId, e.Item.Category }).ToListAsync());
        var consumable = Options.ConsumableCategories.ToHashSet();
        var boughtOnce = bought.Where(b => !consumable.Contains(b.Category)).Select(b => b.ExternalId).ToHashSet();

        Assert.Multiple(() =>
        {
            Assert.That(result.Items, Has.Count.EqualTo(25));
            Assert.That(result.Items.Select(i => i.ItemId), Is.Unique);
            Assert.That(result.RecommendationId, Does.StartWith("rec_"));
            Assert.That(boughtOnce, Is.Not.Empty, "the demo user has bought something that is not consumable");
            Assert.That(result.Items.Select(i => i.ItemId).Intersect(boughtOnce), Is.Empty);
            Assert.That(result.Items.Take(10).GroupBy(i => i.Category).Max(g => g.Count()), Is.LessThanOrEqualTo(Options.MaxPerCategory));
            Assert.That(result.Items, Has.All.Matches<RecommendedItem>(i => i.Reason.Length > 0 && i.Sources.Count > 0 && i.Score is > 0 and < 1));
            Assert.That(result.Items.Take(10).Select(i => i.Score), Is.Ordered.Descending, "the top 10 keep the blend's order, minus capped categories");
        });
    }

    [Test]
    public async Task GetRecommendations_WhenUserHasOnlyText_RecommendsTheirTextsCategory()
    {
        using var client = TestHost.Client(ApiRole.Shop);
        await WaitForBlendAsync();
        var texts = new[] { "ultralight hiking tent for alpine camping", "insulated sleeping bag for camping on the trail", "hiking boots for trail camping" }
            .Select((text, i) => new { userId = "u-recs-text", kind = i == 1 ? "review" : "search", text }).ToList();
        (await client.PostAsJsonAsync("/api/texts/batch", new { texts })).EnsureSuccessStatusCode();
        await TestHost.WaitForProfileAsync(client, "u-recs-text");

        var result = await GetAsync(client, "u-recs-text");
        var outdoor = result.Items.Take(10).Count(i => i.Category == "Outdoor");

        Assert.Multiple(() =>
        {
            Assert.That(result.Items, Has.Count.EqualTo(10));
            Assert.That(result.Items[0].Category, Is.EqualTo("Outdoor"), string.Join("; ", result.Items.Select(i => $"{i.Category}: {i.Reason}")));
            Assert.That(outdoor, Is.EqualTo(Options.MaxPerCategory), "their category fills its share of the top 10");
            Assert.That(result.Items.Where(i => i.Category == "Outdoor").Select(i => i.Reason), Has.Some.StartsWith("matches your interest in '"));
        });
    }

    [Test]
    public async Task GetRecommendations_WhenReplayedThroughTheCoreEngine_RanksTheUserIdentically()
    {
        using var client = TestHost.Client(ApiRole.Shop);
        await TestHost.WaitForProfileAsync(client, "user-00011");
        await WaitForUserVectorAsync(client, "user-00011");
        var recommender = TestHost.Factory.Services.GetRequiredService<RecommendationService>();
        var scorer = TestHost.Factory.Services.GetRequiredService<Discounts.Core.Scoring.IScorer>();
        List<string> served = [], replayed = [];
        // Background work (an index rebuild, a scorer swap, a new blend) may land between the two: then both are taken again.
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var index = await recommender.GetIndexAsync(CancellationToken.None);
            var version = scorer.ActiveVersion;
            var result = await GetAsync(client, "user-00011", "?count=20");
            served = result.Items.Select(i => i.ItemId).ToList();
            replayed = await ReplayAsync(recommender, scorer, index, version, recommender.BlendFor(result.ModelVersion), "user-00011", 20);
            if (served.SequenceEqual(replayed) || (recommender.Index == index && scorer.ActiveVersion == version && recommender.BlendFor(result.ModelVersion).Version == result.BlendVersion))
            {
                break;
            }
        }

        Assert.That(replayed, Is.EqualTo(served), "the served list is the engine's list, nothing added on the request path");
    }

    /// <summary>The user's list ranked by the Core engine alone, from data read here through EF rather than the request path's own reads.</summary>
    private static async Task<List<string>> ReplayAsync(
        RecommendationService recommender, Discounts.Core.Scoring.IScorer scorer, CatalogueIndex index, Discounts.Core.Scoring.ScorerVersion? version,
        BlendModel blend, string externalId, int count)
    {
        var (events, profile) = await TestHost.ReadAsync(async db =>
        {
            var user = await db.Users.SingleAsync(u => u.ExternalId == externalId);
            EventKind[] kinds = [EventKind.View, EventKind.Click, EventKind.Cart, EventKind.Purchase];
            var newestFirst = await db.Events.Where(e => e.UserId == user.Id && kinds.Contains(e.Kind)).OrderByDescending(e => e.OccurredAt)
                .Take(Discounts.Core.Data.RankingReads.MaxHistoryEvents).Select(e => new { e.ItemId, e.Kind }).ToListAsync();
            return (newestFirst, await db.Profiles.SingleAsync(p => p.UserId == user.Id));
        });
        var history = events.AsEnumerable().Reverse().Select(e => index.RowOf(e.ItemId)).OfType<int>().ToList();
        var bought = events.Where(e => e.Kind == EventKind.Purchase).Select(e => index.RowOf(e.ItemId)).OfType<int>().ToHashSet();
        var vector = version is null ? null : scorer.EmbedUsers([ScorerUser.OfText(profile.ProfileText)]).Vectors[0];
        var profileCandidates = CandidateGenerator.FromProfile(
            index, Discounts.Core.Profiling.ProfileJson.Interests(profile.KeywordsJson, profile.TopicsJson), vector, recommender.Matrix(index), Options.CandidatesPerSource);
        var user = new UserContext(history, bought, profileCandidates);
        var candidates = RankingEngine.Candidates(index, user, Options.CandidatesPerSource);
        RankingEngine.AddBuyProbabilities(scorer, version, vector, index, candidates);
        var ranked = RankingEngine.Order(index, candidates, blend, RankingEngine.IsStranger(user), RankingRules.Serving(Options), count);
        return ranked.Select(c => index.Items[c.Item].ExternalId).ToList();
    }

    [Test]
    public async Task GetRecommendations_WhenUserHasNothing_ReturnsPopularItems()
    {
        using var client = TestHost.Client(ApiRole.Shop);
        (await client.PutAsJsonAsync("/api/users/u-recs-nothing", new { consentPersonalisation = true, consentMarketing = false })).EnsureSuccessStatusCode();

        var result = await GetAsync(client, "u-recs-nothing");
        var recommender = TestHost.Factory.Services.GetRequiredService<RecommendationService>();
        var index = await recommender.GetIndexAsync(CancellationToken.None);
        var mostPopular = index.Items[index.PopularList[0]].ExternalId;
        string[] allowed = [RecommendationFeatures.Popular, RecommendationFeatures.Trending, RecommendationFeatures.New];

        Assert.Multiple(() =>
        {
            Assert.That(result.Items, Has.Count.EqualTo(10));
            Assert.That(result.Items.SelectMany(i => i.Sources).Distinct(), Is.SubsetOf(allowed));
            Assert.That(result.Items[0].ItemId, Is.EqualTo(mostPopular));
            Assert.That(result.Items, Has.All.Matches<RecommendedItem>(i => i.Sources.Contains(RecommendationFeatures.Popular)));
            Assert.That(result.Items.Select(i => i.Score), Is.Ordered.Descending);
            Assert.That(result.BlendVersion, Is.EqualTo("popularity"));
            Assert.That(result.Items, Has.All.Matches<RecommendedItem>(i => i.BuyProbability is null && i.Reason.Length > 0));
        });
    }

    [Test]
    public async Task GetRecommendations_WhenUserUnknown_Returns404Problem()
    {
        using var client = TestHost.Client(ApiRole.Shop);
        await (await client.GetAsync("/api/users/nobody-recs/recommendations")).AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [TestCase("?count=0", "count")]
    [TestCase("?count=101", "count")]
    [TestCase("?count=abc", "count")]
    [TestCase("?count=-1", "count")]
    [TestCase("?withDiscounts=maybe", "withDiscounts")]
    public async Task GetRecommendations_WhenQueryIsBad_Returns400NamingTheField(string query, string field)
    {
        using var client = TestHost.Client(ApiRole.Shop);
        await (await client.GetAsync($"/api/users/user-00001/recommendations{query}")).AssertFieldErrorAsync(field);
    }

    [TestCase(ApiRole.Shop, HttpStatusCode.OK)]
    [TestCase(ApiRole.Admin, HttpStatusCode.OK)]
    [TestCase(ApiRole.Analyst, HttpStatusCode.Forbidden)]
    [TestCase(ApiRole.Scientist, HttpStatusCode.Forbidden)]
    [TestCase(null, HttpStatusCode.Unauthorized)]
    public async Task GetRecommendations_WhenCalledByRole_AnswersAsPolicySays(ApiRole? role, HttpStatusCode expected)
    {
        using var client = TestHost.Client(role);
        var response = await client.GetAsync("/api/users/user-00003/recommendations?count=3");
        Assert.That(response.StatusCode, Is.EqualTo(expected));
    }

    [TestCase(ApiRole.Analyst, HttpStatusCode.OK)]
    [TestCase(ApiRole.Scientist, HttpStatusCode.OK)]
    [TestCase(ApiRole.Shop, HttpStatusCode.Forbidden)]
    [TestCase(null, HttpStatusCode.Unauthorized)]
    public async Task GetRecommendationOutcomes_WhenCalledByRole_AnswersAsPolicySays(ApiRole? role, HttpStatusCode expected)
    {
        using var client = TestHost.Client(role);
        var response = await client.GetAsync("/api/recommendations/outcomes");
        Assert.That(response.StatusCode, Is.EqualTo(expected));
    }

    [Test]
    public async Task GetRecommendations_WhenWithDiscounts_AttachesAStoredQuoteToEachItem()
    {
        using var client = TestHost.Client(ApiRole.Shop);

        var result = await GetAsync(client, "user-00007", "?count=4&withDiscounts=true");
        var offerIds = result.Items.Select(i => i.Discount?.OfferId).OfType<string>().ToList();
        var stored = await TestHost.ReadAsync(db => db.Offers.CountAsync(o => offerIds.Contains(o.ExternalId)));

        Assert.Multiple(() =>
        {
            Assert.That(result.Items, Has.Count.EqualTo(4));
            Assert.That(result.Items, Has.All.Matches<RecommendedItem>(i => i.Discount != null && i.Discount.ItemId == i.ItemId && i.Discount.Reason.Length > 0));
            Assert.That(stored, Is.EqualTo(4));
        });
    }

    [Test]
    public void NewRecommendationId_WhenListsAreServedOverTime_SortsInServingOrderAndNeverRepeats()
    {
        var start = new DateTime(2026, 11, 28, 23, 59, 59, 998, DateTimeKind.Utc);
        var ids = Enumerable.Range(0, 6).SelectMany(ms => new[]
        {
            GetRecommendations.Handler.NewRecommendationId(start.AddMilliseconds(ms)), GetRecommendations.Handler.NewRecommendationId(start.AddMilliseconds(ms)),
        }).ToList();

        Assert.Multiple(() =>
        {
            Assert.That(ids, Is.Unique);
            Assert.That(ids, Has.All.Match("^rec_[0-9a-f]{28}$"));
            Assert.That(ids.Where((_, i) => i % 2 == 0), Is.Ordered.Using((IComparer<string>)StringComparer.Ordinal), "later lists sort after earlier ones");
            Assert.That(ids[0][4..16], Is.EqualTo(new DateTimeOffset(start).ToUnixTimeMilliseconds().ToString("x12")));
        });
    }

    [Test]
    public async Task PostedClickAndPurchase_WhenTheyCarryTheRecommendationId_AreCountedInOutcomes()
    {
        using var shop = TestHost.Client(ApiRole.Shop);
        using var analyst = TestHost.Client(ApiRole.Analyst);
        var modelVersion = (await WaitForBlendAsync()).ModelVersion;
        var before = await OutcomeAsync(analyst, modelVersion);
        var result = await GetAsync(shop, "user-00011", "?count=5");
        var item = result.Items[1].ItemId;
        var click = IngestionTests.Event("ev-rec-click-1", "user-00011", item, "click");
        click["recommendationId"] = result.RecommendationId;
        var purchase = IngestionTests.Event("ev-rec-buy-1", "user-00011", item, "purchase", 1_000);
        purchase["recommendationId"] = result.RecommendationId;

        (await shop.PostAsJsonAsync("/api/events/batch", new { events = new[] { click, purchase } })).EnsureSuccessStatusCode();
        var after = (await OutcomeAsync(analyst, result.ModelVersion))!;
        var stored = await TestHost.ReadAsync(db => db.Events.CountAsync(e => e.RecommendationId == result.RecommendationId));

        Assert.Multiple(() =>
        {
            Assert.That(after.Impressions - (before?.Impressions ?? 0), Is.EqualTo(5));
            Assert.That(after.Lists - (before?.Lists ?? 0), Is.EqualTo(1));
            Assert.That(after.Clicks - (before?.Clicks ?? 0), Is.EqualTo(1));
            Assert.That(after.Conversions - (before?.Conversions ?? 0), Is.EqualTo(1));
            Assert.That(after.ClickThroughRate, Is.EqualTo((double)after.Clicks / after.Impressions).Within(1e-6));
            Assert.That(stored, Is.EqualTo(2));
        });
    }

    [Test]
    public async Task PostedEvent_WhenRecommendationIdIsUnknownForeignOrMissesTheItem_IsRefusedNamingIt()
    {
        using var shop = TestHost.Client(ApiRole.Shop);
        var result = await GetAsync(shop, "user-00012", "?count=3");
        var notShown = (await GetAsync(shop, "user-00012", "?count=100")).Items.Select(i => i.ItemId).Except(result.Items.Select(i => i.ItemId)).First();

        foreach (var (userId, itemId, recommendationId) in new[]
                 {
                     ("user-00012", result.Items[0].ItemId, "rec_000000000000000000000000"),
                     ("user-00013", result.Items[0].ItemId, result.RecommendationId),
                     ("user-00012", notShown, result.RecommendationId),
                     ("user-00012", result.Items[0].ItemId, "../rec"),
                 })
        {
            var click = IngestionTests.Event($"ev-rec-bad-{Guid.NewGuid():N}", userId, itemId, "click");
            click["recommendationId"] = recommendationId;
            await (await shop.PostAsJsonAsync("/api/events/batch", new { events = new[] { click } })).AssertFieldErrorAsync("events[0].recommendationId");
        }
    }

    [Test]
    public async Task Blend_WhenTheScorerServes_IsFittedOnHeldOutDataStoredAndUsed()
    {
        using var shop = TestHost.Client(ApiRole.Shop);
        using var analyst = TestHost.Client(ApiRole.Analyst);
        var blend = await WaitForBlendAsync();
        var result = await GetAsync(shop, "user-00020");
        var outcomes = (await analyst.GetFromJsonAsync<GetRecommendationOutcomes.Result>("/api/recommendations/outcomes", TestJson.Options))!;

        Assert.Multiple(() =>
        {
            Assert.That(result.BlendVersion, Is.EqualTo(blend.Version));
            Assert.That(result.ModelVersion, Is.EqualTo(blend.ModelVersion));
            Assert.That(outcomes.Blends.Select(b => b.Version), Does.Contain(blend.Version));
            var stored = outcomes.Blends.First(b => b.Version == blend.Version);
            Assert.That(stored.Weights.Keys, Is.EquivalentTo(RecommendationFeatures.Names));
            Assert.That(stored.Weights.Values, Has.Some.Not.EqualTo(1.0), "weights are fitted, not the prior's");
            Assert.That(stored.Metrics.GetProperty("users").GetInt32(), Is.GreaterThan(0));
            Assert.That(stored.Metrics.GetProperty("positives").GetInt32(), Is.GreaterThan(0));
        });
    }

    /// <summary>The fitted blend for the serving scorer; also used by other tests that need background work settled.</summary>
    internal static async Task<BlendModel> WaitForBlendAsync()
    {
        var recommender = TestHost.Factory.Services.GetRequiredService<RecommendationService>();
        var scorer = TestHost.Factory.Services.GetRequiredService<Discounts.Core.Scoring.IScorer>();
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (waited.Elapsed < Patience)
        {
            if (scorer.ActiveVersion is { } version && recommender.FittedBlend is { } blend && blend.ModelVersion == version.Name)
            {
                await TestHost.Factory.Services.GetRequiredService<ImpressionLog>().FlushAsync(CancellationToken.None);
                return blend;
            }

            await Task.Delay(250);
        }

        Assert.Fail("No recommendation blend was fitted in time.");
        throw new InvalidOperationException();
    }

    /// <summary>
    /// Waits until the user's list carries the scorer's p(buy): the profile's embedding is computed off the request,
    /// so the first lists of a user go without it. Returns at once when no scorer serves.
    /// </summary>
    internal static async Task WaitForUserVectorAsync(HttpClient client, string userId)
    {
        var scorer = TestHost.Factory.Services.GetRequiredService<Discounts.Core.Scoring.IScorer>();
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (scorer.ActiveVersion is not null)
        {
            var result = await GetAsync(client, userId, "?count=5");
            if (result.Items.Any(i => i.BuyProbability is not null))
            {
                return;
            }

            if (waited.Elapsed > Patience)
            {
                Assert.Fail($"The list of {userId} never carried the scorer's p(buy): its profile was not embedded in time.");
            }

            await Task.Delay(100);
        }
    }

    private static async Task<GetRecommendationOutcomes.Outcome?> OutcomeAsync(HttpClient analyst, string modelVersion)
    {
        var outcomes = (await analyst.GetFromJsonAsync<GetRecommendationOutcomes.Result>("/api/recommendations/outcomes", TestJson.Options))!;
        return outcomes.ByModelVersion.SingleOrDefault(o => o.ModelVersion == modelVersion);
    }
}
