using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Discounts.Web.Infrastructure;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace Discounts.Tests.Web.Browser;

/// <summary>
/// The browser tests' one host and browser: the test host's configuration (temp SQLite, demo shop, tiny scorer, a key
/// per role) listening on a real loopback port, because Chromium needs a socket, and Debian's Chromium driven by
/// Playwright. Playwright's own browser download is never used.
/// </summary>
public static class BrowserHost
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private static readonly string[] ChromiumArgs =
        ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];

    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static KestrelFactory? factory;
    private static IPlaywright? playwright;
    private static IBrowser? browser;

    public static Uri BaseAddress { get; private set; } = null!;

    public static IBrowser Browser => browser!;

    public static IServiceProvider Services => factory!.Services;

    /// <summary>Skips the calling fixture, with the reason, when Debian's Chromium is not installed.</summary>
    public static async Task StartAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            Assert.Ignore($"Browser tests need Chromium at {ChromiumPath} (apt-get install -y chromium); it is not installed.");
        }

        await StartBrowserAsync(startHost: true);
    }

    public static async Task StartBrowserAsync(bool startHost)
    {
        await Gate.WaitAsync();
        try
        {
            if (startHost && factory is null)
            {
                factory = new KestrelFactory();
                factory.StartServer();
                var addresses = factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
                BaseAddress = new Uri(addresses.First(a => a.StartsWith("http://", StringComparison.Ordinal)));
            }

            if (browser is not null) return;
            playwright = await Playwright.CreateAsync();
            browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = ChromiumPath, Headless = true, Args = ChromiumArgs,
            });
        }
        finally
        {
            Gate.Release();
        }
    }

    public static async Task StopAsync()
    {
        if (browser is not null) await browser.DisposeAsync();
        playwright?.Dispose();
        if (factory is not null) await factory.DisposeAsync();
        browser = null;
        playwright = null;
        factory = null;
    }

    /// <summary>A fresh browser context (its own cookies) at desktop size unless told otherwise.</summary>
    public static Task<IBrowserContext> NewContextAsync(int width = 1280, int height = 800) =>
        Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = BaseAddress.ToString().TrimEnd('/'),
            ViewportSize = new ViewportSize { Width = width, Height = height },
        });

    /// <summary>Signs in on the sign-in page with the role's key and lands on the overview.</summary>
    public static async Task<IPage> SignInAsync(IBrowserContext context, ApiRole role)
    {
        var page = await context.NewPageAsync();
        await page.GotoAsync("/ui/sign-in");
        await page.FillAsync("#key", TestHost.Keys[role]);
        await page.ClickAsync("button[type=submit]");
        await WaitForPathAsync(page, "/ui");
        return page;
    }

    /// <summary>
    /// Waits until the page's address has a path matching <paramref name="pathPattern"/> (a regular expression).
    /// It polls the address rather than waiting for the new document's load event, as WaitForURLAsync does: once in CI
    /// that wait missed the event (only "networkidle" was logged) and timed out on a page that had fully arrived.
    /// </summary>
    public static Task WaitForPathAsync(IPage page, string pathPattern) =>
        Assertions.Expect(page).ToHaveURLAsync(
            new Regex($"^https?://[^/]+{pathPattern}(?:[?#].*)?$"), new PageAssertionsToHaveURLOptions { Timeout = 30_000 });

    /// <summary>An API client for this host (no cookies, no redirects followed).</summary>
    public static HttpClient Api(ApiRole? role)
    {
        var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = BaseAddress };
        if (role is { } known) client.DefaultRequestHeaders.Add(ApiKeyStore.HeaderName, TestHost.Keys[known]);
        return client;
    }

    /// <summary>Starts a tiny run through the API and waits until it has finished.</summary>
    public static async Task<long> TrainTinyRunAsync(object hyperparameters)
    {
        using var client = Api(ApiRole.Scientist);
        var response = await client.PostAsJsonAsync("/api/training/runs", hyperparameters);
        Assert.That((int)response.StatusCode, Is.EqualTo(202), await response.Content.ReadAsStringAsync());
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        await WaitForRunAsync(id);
        return id;
    }

    public static async Task<JsonElement> WaitForRunAsync(long id)
    {
        using var client = Api(ApiRole.Analyst);
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (true)
        {
            var run = await client.GetFromJsonAsync<JsonElement>($"/api/training/runs/{id}");
            if (run.GetProperty("status").GetString() is "succeeded" or "failed" or "cancelled") return run;
            if (DateTime.UtcNow > deadline) Assert.Fail($"Run {id} did not finish in time: {run}");
            await Task.Delay(250);
        }
    }

    public static async Task<int> LossPointCountAsync(long id)
    {
        using var client = Api(ApiRole.Analyst);
        var loss = await client.GetFromJsonAsync<JsonElement>($"/api/training/runs/{id}/loss");
        return loss.GetProperty("points").GetArrayLength();
    }

    private sealed class KestrelFactory : DiscountsFactory
    {
        public KestrelFactory() => UseKestrel(0);
    }
}

