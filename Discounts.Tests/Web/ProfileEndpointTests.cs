using System.Net;
using System.Net.Http.Json;
using Discounts.Web.Features.Profiles;
using Discounts.Web.Features.Users;
using Discounts.Web.Infrastructure;

namespace Discounts.Tests.Web;

public sealed class ProfileEndpointTests
{
    [Test]
    public async Task GetUserProfile_WhenDemoShopWasSeeded_IsBuiltInTheBackground()
    {
        using var client = TestHost.Client(ApiRole.Shop);
        var profile = await TestHost.WaitForProfileAsync(client, "user-00001");

        Assert.Multiple(() =>
        {
            Assert.That(profile.TextModelVersion, Does.StartWith("text-"));
            Assert.That(profile.Keywords, Is.Not.Empty);
            Assert.That(profile.Topics, Is.Not.Empty);
            Assert.That(profile.Topics, Has.All.Matches<Discounts.Core.Profiling.UserTopic>(t => t.TopWords.Count > 0 && t.Share > 0));
            Assert.That(profile.Behaviour.Events, Is.GreaterThan(0));
            Assert.That(profile.Behaviour.CategoryAffinity, Is.Not.Empty);
            Assert.That(profile.ProfileText, Does.Contain("likes: "));
        });
    }

    [Test]
    public async Task GetUserProfile_WhenNewTextArrives_RefreshesWithoutRefitting()
    {
        using var shop = TestHost.Client(ApiRole.Shop);
        await TestHost.WaitForProfileAsync(shop, "user-00002");
        var texts = Enumerable.Range(0, 3).Select(i => new { userId = "u-fresh-profile", kind = "search", text = $"ceremonial matcha whisk {i}" }).ToList();
        var events = new[] { IngestionTests.Event("ev-fresh-profile", "u-fresh-profile", "sku-000010", "purchase", 1_234) };

        (await shop.PostAsJsonAsync("/api/texts/batch", new { texts })).EnsureSuccessStatusCode();
        (await shop.PostAsJsonAsync("/api/events/batch", new { events })).EnsureSuccessStatusCode();
        var demo = await TestHost.WaitForProfileAsync(shop, "user-00002");
        var profile = await TestHost.WaitForProfileAsync(shop, "u-fresh-profile", p => p.Version > 0 && p.Behaviour.Purchases == 1);

        Assert.Multiple(() =>
        {
            Assert.That(profile.Keywords.Select(k => k.Term), Does.Contain("matcha"));
            Assert.That(profile.Behaviour.MonetaryCents, Is.EqualTo(1_234));
            Assert.That(profile.TextModelVersion, Is.EqualTo(demo.TextModelVersion));
            Assert.That(profile.ProfileText, Does.Contain("searched: ceremonial matcha whisk"));
        });
    }

    [Test]
    public async Task GetUserProfile_WhenNewUserWritesAWordTheShopNeverSaw_ListsItAtOnceAndRecommendsAnItemNamingIt()
    {
        using var shop = TestHost.Client(ApiRole.Shop);
        await TestHost.WaitForProfileAsync(shop, "user-00004");
        var items = new[]
        {
            new { id = "sku-kayak-paddle", title = "Carbon kayak paddle", description = "A light feathered paddle for sea kayak touring", category = "Outdoor", priceCents = 12_900, costCents = 7_100 },
        };
        (await shop.PostAsJsonAsync("/api/items/batch", new { items })).EnsureSuccessStatusCode();
        (await shop.PutAsJsonAsync("/api/users/u-kayaker", new { consentPersonalisation = true, consentMarketing = false })).EnsureSuccessStatusCode();
        string[] reviews =
        [
            "The kayak paddle is superb, my kayak trips on the river are better with this carbon paddle",
            "Light carbon paddle, the kayak glides. Write to me at kayak.jo@example.com",
            "Took the kayak out at dawn, the paddle blade bites the water cleanly",
            "Call me on +44 20 7946 0958 about my old kayak",
            "Kayak touring is easier with a feathered paddle",
            "Best paddle I have owned for sea kayak trips",
        ];
        var texts = reviews.Select(text => new { userId = "u-kayaker", kind = "review", text }).ToList();

        (await shop.PostAsJsonAsync("/api/texts/batch", new { texts })).EnsureSuccessStatusCode();
        var profile = await TestHost.WaitForProfileAsync(shop, "u-kayaker");
        var recommended = await RecommendedAsync(shop, "u-kayaker", "sku-kayak-paddle");
        var paddle = recommended.FirstOrDefault(i => i.ItemId == "sku-kayak-paddle");

        Assert.Multiple(() =>
        {
            Assert.That(profile.Keywords.Take(3).Select(k => k.Term), Does.Contain("kayak"), string.Join(", ", profile.Keywords.Select(k => k.Term)));
            Assert.That(profile.Keywords.Select(k => k.Term), Has.None.Contains("@").And.None.Contains("example").And.None.Contains("7946"));
            Assert.That(profile.ProfileText, Does.Contain("kayak").And.Not.Contain("7946"));
            Assert.That(profile.VocabularyVersion, Is.GreaterThan(0));
            Assert.That(paddle, Is.Not.Null, string.Join("; ", recommended.Select(i => $"{i.ItemId}: {i.Reason}")));
            Assert.That(paddle?.Sources, Does.Contain(Discounts.Core.Recommending.RecommendationFeatures.Content), "proposed for the word, not for being new");
            Assert.That(paddle?.Reason, Does.Contain("kayak").Or.Contain("paddle"));
        });
    }

    /// <summary>The user's top 10, read again until it holds <paramref name="expected"/> (the catalogue index takes in a new item in the background) or a minute passes.</summary>
    private static async Task<IReadOnlyList<Discounts.Core.Serving.RecommendedItem>> RecommendedAsync(
        HttpClient client, string userId, string expected)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var result = await client.GetFromJsonAsync<Discounts.Web.Features.Recommendations.GetRecommendations.Result>(
                $"/api/users/{userId}/recommendations?count=10", TestJson.Options);
            if (result!.Items.Any(i => i.ItemId == expected) || waited.Elapsed > TimeSpan.FromSeconds(60))
            {
                return result.Items;
            }

            await Task.Delay(500);
        }
    }

    [Test]
    public async Task GetUserProfile_WhenUserUnknown_Returns404Problem()
    {
        using var client = TestHost.Client(ApiRole.Analyst);
        await (await client.GetAsync("/api/users/nobody-here/profile")).AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [TestCase(ApiRole.Shop, HttpStatusCode.OK)]
    [TestCase(ApiRole.Analyst, HttpStatusCode.OK)]
    [TestCase(ApiRole.Scientist, HttpStatusCode.OK)]
    [TestCase(null, HttpStatusCode.Unauthorized)]
    public async Task GetUserProfile_WhenCalledByRole_AnswersAsPolicySays(ApiRole? role, HttpStatusCode expected)
    {
        using var client = TestHost.Client(role);
        var response = await client.GetAsync("/api/users/user-00003/profile");
        Assert.That(response.StatusCode, Is.EqualTo(expected));
    }

    [Test]
    public async Task RebuildProfiles_WhenShopCalls_Returns403AndScientistGets202()
    {
        using var shop = TestHost.Client(ApiRole.Shop);
        using var scientist = TestHost.Client(ApiRole.Scientist);

        await (await shop.PostAsync("/api/profiles/rebuild", null)).AssertProblemAsync(HttpStatusCode.Forbidden);
        var accepted = await scientist.PostAsync("/api/profiles/rebuild", null);
        Assert.That(accepted.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await accepted.Content.ReadAsStringAsync());
        var job = await accepted.Content.ReadFromJsonAsync<RebuildProfiles.Accepted>(TestJson.Options);

        // The 202 queued a real full rebuild; left running, it would refit and rescore everyone under later tests.
        var state = await TestHost.WaitForJobAsync(job!.JobId, TimeSpan.FromMinutes(5));
        Assert.That(state, Is.EqualTo(Hangfire.States.SucceededState.StateName), $"rebuild job {job.JobId}");
    }
}
