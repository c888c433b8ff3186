using Discounts.Core.Domain;
using System.Net;
using System.Net.Http.Json;
using Discounts.Core.Data;
using Discounts.Core.Telemetry;
using Discounts.Core.Recommending;
using Discounts.Core.Serving;
using Discounts.Core.Scoring;
using Discounts.Training.FineTuning;
using Discounts.Training.Scorer;
using Discounts.Web.Features.Recommendations;
using Discounts.Web.Features.Users;
using Discounts.Web.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Discounts.Tests.Web;

/// <summary>The ranked-list cache of GET /api/users/{id}/recommendations: hits equal misses, and nothing stale is served.</summary>
public sealed class RecommendationCacheTests
{
    private static RecommendationCache Cache => TestHost.Factory.Services.GetRequiredService<RecommendationCache>();

    private static RecommendationService Recommender => TestHost.Factory.Services.GetRequiredService<RecommendationService>();

    private static async Task<GetRecommendations.Result> GetAsync(HttpClient client, string userId, string query)
    {
        var response = await client.GetAsync($"/api/users/{userId}/recommendations{query}");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<GetRecommendations.Result>(TestJson.Options))!;
    }

    /// <summary>
    /// Asks for the same list twice and returns the second answer, which must have come from the cache. A background
    /// index rebuild, blend refit or profile rebuild between the two requests (other tests write data) re-ranks, a
    /// legitimate miss; the pair is asked again then.
    /// </summary>
    private static async Task<GetRecommendations.Result> GetFromCacheAsync(HttpClient client, string userId, string query)
    {
        const int attempts = 5;
        for (var attempt = 1; ; attempt++)
        {
            await GetAsync(client, userId, query);
            var hits = Cache.Hits;
            var second = await GetAsync(client, userId, query);
            if (Cache.Hits > hits)
            {
                return second;
            }

            if (attempt == attempts)
            {
                Assert.Fail($"The list of {userId} was not served from the cache on the second of two requests in {attempts} tries.");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt));
        }
    }

    /// <summary>Everything of a list but its recommendation id, as one comparable string per item.</summary>
    private static List<string> Items(GetRecommendations.Result result) => result.Items
        .Select(i => $"{i.ItemId}|{i.Score}|{i.BuyProbability}|{string.Join(",", i.Sources)}|{i.Reason}|{i.Discount?.OfferId}").ToList();

    [Test]
    public async Task GetRecommendations_WhenAskedAgain_IsServedFromCacheWithTheMissItemsAndItsOwnIdAndImpressions()
    {
        using var client = TestHost.Client(ApiRole.Shop);
        await RecommendationEndpointTests.WaitForBlendAsync();
        // Other tests' events may rebuild the index between two requests (a legitimate miss); retried until a pair is undisturbed.
        for (var attempt = 0; ; attempt++)
        {
            // A scorer swap by another test makes the profile's embedding (computed off the request) due again.
            await RecommendationEndpointTests.WaitForUserVectorAsync(client, "user-00041");
            var index = Recommender.Index;
            Cache.Clear();
            var (hits, misses) = (Cache.Hits, Cache.Misses);
            var miss = await GetAsync(client, "user-00041", "?count=12");
            var hit = await GetAsync(client, "user-00041", "?count=12");
            Cache.Clear();
            var missAgain = await GetAsync(client, "user-00041", "?count=12");
            if ((Cache.Hits - hits != 1 || Cache.Misses - misses != 2 || Recommender.Index != index) && attempt < 5)
            {
                continue;
            }

            await TestHost.Factory.Services.GetRequiredService<ImpressionLog>().FlushAsync(CancellationToken.None);
            var impressions = await TestHost.ReadAsync(db => db.RecommendationLists
                .Where(l => l.RecommendationId == miss.RecommendationId || l.RecommendationId == hit.RecommendationId)
                .Select(l => l.ItemCount).ToListAsync());

            Assert.Multiple(() =>
            {
                Assert.That(Cache.Hits - hits, Is.EqualTo(1), "the second request was a hit");
                Assert.That(Cache.Misses - misses, Is.EqualTo(2), "the first and the one after clearing were misses");
                Assert.That(miss.Items, Has.Count.EqualTo(12));
                Assert.That(Items(hit), Is.EqualTo(Items(miss)));
                Assert.That(Items(missAgain), Is.EqualTo(Items(hit)));
                Assert.That((hit.ModelVersion, hit.BlendVersion), Is.EqualTo((miss.ModelVersion, miss.BlendVersion)));
                Assert.That(hit.RecommendationId, Is.Not.EqualTo(miss.RecommendationId), "each response has its own id");
                Assert.That(impressions, Is.EqualTo(new[] { 12, 12 }), "each response logs its own impressions");
            });
            return;
        }
    }

    [Test]
    public async Task GetRecommendations_WhenTheUserBuysAListedItem_DropsItAtOnce()
    {
        using var client = TestHost.Client(ApiRole.Shop);
        await RecommendationEndpointTests.WaitForBlendAsync();
        var consumable = TestHost.Factory.Services.GetRequiredService<IOptions<RecommendationOptions>>().Value.ConsumableCategories.ToHashSet();
        // From the cache, so what follows shows that a purchase invalidates a cached list.
        var cached = await GetFromCacheAsync(client, "user-00043", "?count=25");
        var bought = cached.Items.First(i => !consumable.Contains(i.Category)).ItemId;

        var purchase = IngestionTests.Event($"ev-cache-buy-{Guid.NewGuid():N}", "user-00043", bought, "purchase", 1_500);
        (await client.PostAsJsonAsync("/api/events/batch", new { events = new[] { purchase } })).EnsureSuccessStatusCode();
        var after = await GetAsync(client, "user-00043", "?count=25");

        Assert.Multiple(() =>
        {
            Assert.That(cached.Items.Select(i => i.ItemId), Does.Contain(bought));
            Assert.That(after.Items.Select(i => i.ItemId), Does.Not.Contain(bought), "a bought item that is not consumable is gone at once");
            Assert.That(after.Items, Has.Count.EqualTo(25));
        });
    }

    [Test]
    public async Task GetRecommendations_WhenTheProfileIsRebuilt_RanksAgainFromTheNewProfile()
    {
        using var client = TestHost.Client(ApiRole.Shop);
        await RecommendationEndpointTests.WaitForBlendAsync();
        (await client.PutAsJsonAsync("/api/users/u-cache-profile", new { consentPersonalisation = true, consentMarketing = false })).EnsureSuccessStatusCode();
        // From the cache, so what follows shows that a new profile invalidates a cached list.
        var before = await GetFromCacheAsync(client, "u-cache-profile", "?count=10");
        var profileBefore = await client.GetFromJsonAsync<GetUserProfile.Result>("/api/users/u-cache-profile/profile", TestJson.Options);
        var texts = new[] { "ultralight hiking tent for alpine camping", "insulated sleeping bag for camping on the trail", "hiking boots for trail camping" }
            .Select(text => new { userId = "u-cache-profile", kind = "search", text }).ToList();

        (await client.PostAsJsonAsync("/api/texts/batch", new { texts })).EnsureSuccessStatusCode();
        await TestHost.WaitForProfileAsync(client, "u-cache-profile", p => p.Version > profileBefore!.Version && p.Keywords.Any(k => k.Term == "camping"));
        var after = await GetAsync(client, "u-cache-profile", "?count=10");

        Assert.Multiple(() =>
        {
            Assert.That(before.BlendVersion, Is.EqualTo("popularity"));
            Assert.That(after.BlendVersion, Is.Not.EqualTo("popularity"), "the new profile is ranked, not the cached list served");
            Assert.That(after.Items.Select(i => i.Reason), Has.Some.StartsWith("matches your interest in '"));
        });
    }

    [Test]
    public async Task GetRecommendations_WhenTheProfileEmbeddingArrivesAfterTheListWasCached_ServesTheListWithPBuy()
    {
        using var client = TestHost.Client(ApiRole.Shop);
        await RecommendationEndpointTests.WaitForBlendAsync();
        (await client.PutAsJsonAsync("/api/users/u-cache-vector", new { consentPersonalisation = true, consentMarketing = false })).EnsureSuccessStatusCode();
        var texts = new[] { "espresso beans with a dark roast", "a grinder for espresso at home" }
            .Select(text => new { userId = "u-cache-vector", kind = "search", text }).ToList();
        (await client.PostAsJsonAsync("/api/texts/batch", new { texts })).EnsureSuccessStatusCode();
        await TestHost.WaitForProfileAsync(client, "u-cache-vector", p => p.Keywords.Any(k => k.Term == "espresso"));

        var first = await GetAsync(client, "u-cache-vector", "?count=5");

        Assert.That(first.Items.Select(i => i.BuyProbability), Has.All.Null, "the first list does not wait for the encoder, and is cached");
        // Fails if the cached list without the embedding outlived its arrival.
        await RecommendationEndpointTests.WaitForUserVectorAsync(client, "u-cache-vector");
    }

    [Test]
    public async Task GetRecommendations_WhenTheIndexIsRebuiltForNewInteractions_ReusesTheProfileCandidatesAndRanksTheSameItems()
    {
        using var client = TestHost.Client(ApiRole.Shop);
        await RecommendationEndpointTests.WaitForBlendAsync();
        // A profile rebuilt in the background in between is a legitimate miss; retried until a pair is undisturbed.
        for (var attempt = 0; ; attempt++)
        {
            // Profile candidates are kept only once they include the profile embedding's nearest items.
            await RecommendationEndpointTests.WaitForUserVectorAsync(client, "user-00043");
            await Recommender.RefreshAsync(force: true, CancellationToken.None);
            var before = await GetAsync(client, "user-00043", "?count=10");
            var catalogue = Recommender.Index!.Catalogue;
            await Recommender.RefreshAsync(force: true, CancellationToken.None);
            var (hits, misses, listMisses) = (Recommender.ProfileHits, Recommender.ProfileMisses, Cache.Misses);
            var after = await GetAsync(client, "user-00043", "?count=10");
            var (reused, searched) = (Recommender.ProfileHits - hits, Recommender.ProfileMisses - misses);
            if ((reused != 1 || searched != 0 || Recommender.Index!.Catalogue != catalogue) && attempt < 5)
            {
                continue;
            }

            Assert.Multiple(() =>
            {
                Assert.That(Recommender.Index!.Catalogue, Is.SameAs(catalogue), "the items did not change, so the rebuilt index kept their part");
                Assert.That(Cache.Misses - listMisses, Is.EqualTo(1), "a new index re-ranks the list");
                Assert.That((reused, searched), Is.EqualTo((1L, 0L)), "the re-ranking reused the profile's candidates");
                Assert.That(after.Items.Select(i => (i.ItemId, i.Reason)), Is.EqualTo(before.Items.Select(i => (i.ItemId, i.Reason))));
                Assert.That(after.Items.Select(i => i.Reason), Has.Some.StartsWith("matches your interest in '"), "the profile's picks are in the list");
            });
            return;
        }
    }

    [Test]
    public async Task GetRecommendations_WhenAnItemIsAdded_SearchesTheProfileCandidatesAgain()
    {
        using var client = TestHost.Client(ApiRole.Shop);
        await RecommendationEndpointTests.WaitForBlendAsync();
        await GetAsync(client, "user-00044", "?count=10");
        var catalogue = Recommender.Index!.Catalogue;
        var items = new[] { new { id = "it-profile-cache-new", title = "Vitamin C Serum Travel Size", category = "Skincare", priceCents = 1_500 } };
        (await client.PostAsJsonAsync("/api/items/batch", new { items })).EnsureSuccessStatusCode();
        await Recommender.RefreshAsync(force: false, CancellationToken.None);
        var misses = Recommender.ProfileMisses;

        await GetAsync(client, "user-00044", "?count=10");

        Assert.Multiple(() =>
        {
            Assert.That(Recommender.Index!.Catalogue, Is.Not.SameAs(catalogue), "a new item builds a new items part");
            Assert.That(Recommender.ProfileMisses - misses, Is.EqualTo(1), "the profile's candidates were searched again over the new catalogue");
        });
    }

    [Test]
    public async Task GetRecommendations_WhenAnotherScorerVersionIsActivated_RanksWithTheNewVersion()
    {
        using var shop = TestHost.Client(ApiRole.Shop);
        using var scientist = TestHost.Client(ApiRole.Scientist);
        await RecommendationEndpointTests.WaitForBlendAsync();
        // From the cache, so what follows shows that a scorer swap invalidates a cached list.
        var before = await GetFromCacheAsync(shop, "user-00047", "?count=10");

        await using var scope = TestHost.Factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<DiscountsDbContext>();
        var models = scope.ServiceProvider.GetRequiredService<ScorerModels>();
        var (tiny, _) = models.CreateBase(dropout: 0);
        var path = Path.Combine(models.ScorerFolder, $"cache-swap-{Guid.NewGuid():N}.safetensors");
        string sha;
        using (tiny) sha = ScorerModels.SaveAtomically(tiny.Model, path);
        var swapped = new Discounts.Core.Domain.ModelVersion { Name = $"cache-swap-{Guid.NewGuid():N}", WeightsPath = path, Sha256 = sha, CreatedAt = DateTime.UtcNow };
        db.ModelVersions.Add(swapped);
        await db.SaveChangesAsync();
        (await scientist.PostAsync($"/api/models/{swapped.Id}/activate", null)).EnsureSuccessStatusCode();
        var after = await GetAsync(shop, "user-00047", "?count=10");

        Assert.Multiple(() =>
        {
            Assert.That(before.ModelVersion, Is.Not.EqualTo(swapped.Name));
            Assert.That(TestHost.Factory.Services.GetRequiredService<IScorer>().ActiveVersion?.Name, Is.EqualTo(swapped.Name));
            Assert.That(after.ModelVersion, Is.EqualTo(swapped.Name), "the list is re-ranked by the version now serving");
        });
    }

    [Test]
    public void Get_WhenStampDiffersOrEntryWasEvicted_ReturnsNothing()
    {
        var cache = new RecommendationCache(Options.Create(new RecommendationOptions { ResultCacheEntries = 2 }), Metrics());
        var index = CatalogueIndex.Build([], [], DateTime.UtcNow, new RecommendationOptions());
        var scorer = new ScorerVersion(null, "base", "sha");
        RankingStamp Stamp(int profile, long events, CatalogueIndex forIndex, ScorerVersion version, string blend) => new(profile, events, events, forIndex, version, blend, false);
        CachedRanking Ranking(RankingStamp stamp) => new(1, stamp, stamp.Scorer!.Name, stamp.BlendVersion, [], ShownItems.Of([]));
        var stamp = Stamp(1, 10, index, scorer, "blend-1");

        cache.Set(1, 10, Ranking(stamp));
        Assert.Multiple(() =>
        {
            Assert.That(cache.Get(1, 10, stamp with { }), Is.Not.Null, "an equal stamp hits");
            Assert.That(cache.Get(1, 5, stamp), Is.Null, "another count is another list");
            Assert.That(cache.Get(2, 10, stamp), Is.Null, "another user");
            Assert.That(cache.Get(1, 10, Stamp(2, 10, index, scorer, "blend-1")), Is.Null, "a new profile version");
        });
        Assert.That(cache.Count, Is.Zero, "a stale entry is dropped on sight");

        foreach (var changed in new[]
                 {
                     Stamp(1, 11, index, scorer, "blend-1"),
                     stamp with { LastEventId = 12 },
                     Stamp(1, 10, CatalogueIndex.Build([], [], DateTime.UtcNow, new RecommendationOptions()), scorer, "blend-1"),
                     Stamp(1, 10, index, scorer with { Name = "tuned" }, "blend-1"),
                     Stamp(1, 10, index, scorer, "blend-2"),
                     stamp with { UserVector = true },
                 })
        {
            cache.Set(1, 10, Ranking(stamp));
            Assert.That(cache.Get(1, 10, changed), Is.Null, changed.ToString());
        }

        cache.Set(1, 10, Ranking(stamp));
        cache.Set(2, 10, Ranking(stamp));
        cache.Get(1, 10, stamp);
        cache.Set(3, 10, Ranking(stamp));
        Assert.Multiple(() =>
        {
            Assert.That(cache.Count, Is.EqualTo(2));
            Assert.That(cache.Get(2, 10, stamp), Is.Null, "the least recently used entry went first");
            Assert.That(cache.Get(1, 10, stamp), Is.Not.Null);
            Assert.That(cache.Get(3, 10, stamp), Is.Not.Null);
        });
    }

    [Test]
    public void Get_WhenCacheIsOff_NeverStoresOrHits()
    {
        var cache = new RecommendationCache(Options.Create(new RecommendationOptions { ResultCacheEntries = 0 }), Metrics());
        var stamp = new RankingStamp(1, 1, 1, CatalogueIndex.Build([], [], DateTime.UtcNow, new RecommendationOptions()), null, "prior", false);

        cache.Set(1, 10, new CachedRanking(1, stamp, "none", "prior", [], ShownItems.Of([])));

        Assert.Multiple(() =>
        {
            Assert.That(cache.Enabled, Is.False);
            Assert.That(cache.Get(1, 10, stamp), Is.Null);
            Assert.That(cache.Count, Is.Zero);
        });
    }

    /// <summary>A meter of its own, so the pure cache tests do not start the shared host.</summary>
    private static DiscountsMetrics Metrics() =>
        new(new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());
}
