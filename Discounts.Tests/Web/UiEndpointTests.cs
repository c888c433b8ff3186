using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Discounts.Core.Data;
using Discounts.Web.Infrastructure;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Discounts.Tests.Web;

/// <summary>The UI's read endpoints and its sign-in cookie, over HTTP in the shared test host (no browser needed).</summary>
public sealed partial class UiEndpointTests
{
    [Test]
    public async Task GetShopCounts_WhenAnalyst_CountsWhatTheDatabaseHolds()
    {
        using var client = TestHost.Client(ApiRole.Analyst);
        var counts = await client.GetFromJsonAsync<JsonElement>("/api/dashboard/counts");
        await using var scope = TestHost.Factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<DiscountsDbContext>();

        Assert.Multiple(async () =>
        {
            Assert.That(counts.GetProperty("items").GetInt32(), Is.EqualTo(await db.Items.CountAsync()).And.GreaterThan(0));
            Assert.That(counts.GetProperty("users").GetInt32(), Is.EqualTo(await db.Users.CountAsync()).And.GreaterThan(0));
            Assert.That(counts.GetProperty("texts").GetInt32(), Is.GreaterThan(0));
            Assert.That(counts.GetProperty("events").GetInt32(), Is.GreaterThan(0));
        });
    }

    [Test]
    public async Task GetShopCounts_WhenShop_Returns403()
    {
        using var client = TestHost.Client(ApiRole.Shop);
        await (await client.GetAsync("/api/dashboard/counts")).AssertProblemAsync(HttpStatusCode.Forbidden);
    }

    [TestCase("0")]
    [TestCase("3651")]
    [TestCase("many")]
    public async Task GetDiscountActivity_WhenDaysIsBad_Returns400NamingDays(string days)
    {
        using var client = TestHost.Client(ApiRole.Analyst);
        await (await client.GetAsync($"/api/discounts/activity?days={days}")).AssertFieldErrorAsync("days");
    }

    [Test]
    public async Task GetDiscountActivity_WhenDemoShop_DaysAddUpToTheQuotesSince()
    {
        using var client = TestHost.Client(ApiRole.Analyst);
        var activity = await client.GetFromJsonAsync<JsonElement>("/api/discounts/activity?days=30");
        var since = activity.GetProperty("since").GetDateTime().ToUniversalTime();
        await using var scope = TestHost.Factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<DiscountsDbContext>();
        var quotesSince = await db.Offers.CountAsync(o => o.CreatedAt >= since);
        var days = activity.GetProperty("days").EnumerateArray().ToList();

        Assert.Multiple(() =>
        {
            Assert.That(days, Has.Count.EqualTo(30));
            Assert.That(days.Sum(d => d.GetProperty("quotes").GetInt32()), Is.EqualTo(quotesSince).And.GreaterThan(0));
            Assert.That(days.Sum(d => d.GetProperty("redemptions").GetInt32()), Is.GreaterThanOrEqualTo(0));
            Assert.That(activity.GetProperty("campaigns").GetArrayLength(), Is.GreaterThan(0));
        });
    }

    [Test]
    public async Task EvaluateUpliftHoldout_WhenDemoShop_ReturnsAQiniCurveFromTheOriginOnTheNewestShare()
    {
        using var client = TestHost.Client(ApiRole.Analyst);
        var response = await client.GetAsync("/api/discounts/uplift-evaluation?holdoutShare=0.3");
        var result = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), result.ToString());
        var curve = result.GetProperty("qini").EnumerateArray().ToList();
        var train = result.GetProperty("trainRows").GetInt32();
        var holdout = result.GetProperty("holdoutRows").GetInt32();

        Assert.Multiple(() =>
        {
            Assert.That(holdout / (double)(train + holdout), Is.EqualTo(0.3).Within(0.01));
            Assert.That(result.GetProperty("holdoutTreated").GetInt32(), Is.InRange(1, holdout - 1));
            Assert.That(curve[0].GetProperty("targeted").GetDouble(), Is.Zero);
            Assert.That(curve[^1].GetProperty("targeted").GetDouble(), Is.EqualTo(holdout));
            Assert.That(curve[^1].GetProperty("random").GetDouble(), Is.EqualTo(curve[^1].GetProperty("model").GetDouble()).Within(1e-6), "random targeting ends where the model does");
            Assert.That(curve, Has.Count.InRange(3, 402));
            Assert.That(result.GetProperty("qiniCoefficient").GetDouble(), Is.InRange(-1, 1));
        });
    }

    [Test]
    public async Task EvaluateUpliftHoldout_WhenShareOutOfRange_Returns400NamingIt()
    {
        using var client = TestHost.Client(ApiRole.Analyst);
        await (await client.GetAsync("/api/discounts/uplift-evaluation?holdoutShare=2")).AssertFieldErrorAsync("holdoutShare");
    }

    [Test]
    public async Task GetTrainingMetrics_WhenRunUnknown_Returns404()
    {
        using var client = TestHost.Client(ApiRole.Analyst);
        await (await client.GetAsync("/api/training/runs/987654/metrics")).AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [Test]
    public async Task UiCookie_WhenSignedIn_ReadsTheApiButCannotWriteIt()
    {
        using var browser = TestHost.Factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });
        var signedIn = await SignInAsync(browser, TestHost.Keys[ApiRole.Scientist]);
        var read = await browser.GetAsync("/api/training/runs");
        var write = await browser.PostAsJsonAsync("/api/training/runs", new { epochs = 1 });
        var uiPage = await browser.GetAsync("/ui/models");

        Assert.Multiple(async () =>
        {
            Assert.That(signedIn.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
            Assert.That(signedIn.Headers.Location?.ToString(), Is.EqualTo("/ui"));
            Assert.That(signedIn.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith(UiSetup.CookieName + "=", StringComparison.Ordinal)),
                Does.Contain("httponly").IgnoreCase.And.Contain("samesite=strict").IgnoreCase);
            Assert.That(read.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(uiPage.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            // Writes need the key header: a cookie alone never acts on the JSON API.
            await write.AssertProblemAsync(HttpStatusCode.Unauthorized);
        });
    }

    [Test]
    public async Task UiForm_WhenPostedWithoutAntiforgeryToken_IsRefused()
    {
        using var browser = TestHost.Factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });
        await SignInAsync(browser, TestHost.Keys[ApiRole.Scientist]);
        var response = await browser.PostAsync("/ui/models?handler=Activate", new FormUrlEncodedContent(new Dictionary<string, string> { ["id"] = "1" }));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
    }

    [Test]
    public async Task SignIn_WhenKeyIsWrong_Returns401AndNoCookie()
    {
        using var browser = TestHost.Factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });
        var response = await SignInAsync(browser, "not-a-key-but-long-enough-0123");
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(response.Headers.TryGetValues("Set-Cookie", out var cookies) && cookies.Any(c => c.StartsWith(UiSetup.CookieName + "=", StringComparison.Ordinal)), Is.False);
        });
    }

    [TestCase("/ui")]
    [TestCase("/ui/runs")]
    [TestCase("/ui/models")]
    [TestCase("/ui/discounts")]
    [TestCase("/ui/recommendations")]
    public async Task UiPage_WhenAnonymous_RedirectsToSignIn(string path)
    {
        using var client = TestHost.Client(null);
        var response = await client.GetAsync(path);
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
            Assert.That(response.Headers.Location?.ToString(), Does.Contain("/ui/sign-in?ReturnUrl="));
        });
    }

    [Test]
    public async Task RecommendationsPage_WhenAnalystSignedIn_ShowsEveryModelVersionsOutcomes()
    {
        using var shop = TestHost.Client(ApiRole.Shop);
        (await shop.GetAsync("/api/users/user-00012/recommendations?count=4")).EnsureSuccessStatusCode();
        using var analyst = TestHost.Client(ApiRole.Analyst);
        var outcomes = await analyst.GetFromJsonAsync<JsonElement>("/api/recommendations/outcomes");
        using var browser = TestHost.Factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });
        await SignInAsync(browser, TestHost.Keys[ApiRole.Analyst]);

        var page = await browser.GetStringAsync("/ui/recommendations");

        var versions = outcomes.GetProperty("byModelVersion").EnumerateArray().ToList();
        Assert.That(versions, Is.Not.Empty, "a list was just served");
        Assert.Multiple(() =>
        {
            foreach (var version in versions)
            {
                var row = Regex.Match(page, $"<tr data-version=\"{Regex.Escape(version.GetProperty("modelVersion").GetString()!)}\">(?<cells>.*?)</tr>", RegexOptions.Singleline);
                Assert.That(row.Success, Is.True, $"a row for {version.GetProperty("modelVersion")}");
                var cells = Regex.Matches(row.Groups["cells"].Value, "<td>(?<value>[^<]*)").Select(m => m.Groups["value"].Value.Trim()).ToList();
                Assert.That(cells.Take(5), Is.EqualTo(new[]
                {
                    version.GetProperty("modelVersion").GetString(), version.GetProperty("lists").ToString(), version.GetProperty("impressions").ToString(),
                    version.GetProperty("clicks").ToString(), version.GetProperty("conversions").ToString(),
                }));
            }
        });
    }

    private static async Task<HttpResponseMessage> SignInAsync(HttpClient browser, string key)
    {
        var form = await browser.GetStringAsync("/ui/sign-in");
        var token = AntiforgeryToken().Match(form).Groups["token"].Value;
        Assert.That(token, Is.Not.Empty, "the sign-in form carries an antiforgery token");
        return await browser.PostAsync("/ui/sign-in", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["key"] = key, ["__RequestVerificationToken"] = token,
        }));
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\"[^>]*value=\"(?<token>[^\"]+)\"")]
    private static partial Regex AntiforgeryToken();
}
