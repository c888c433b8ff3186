using System.Net.Http.Json;
using System.Text.Json;
using Discounts.Core.Data;
using Discounts.Web.Infrastructure;
using Microsoft.Playwright;

namespace Discounts.Tests.Web.Browser;

/// <summary>
/// Writes the README's screenshots to docs/screenshots. Explicit: run it on purpose. With DISCOUNTS_UI_URL and
/// DISCOUNTS_UI_KEY (an Analyst key or above) it photographs that host, for example one that has fine-tuned the real
/// scorer on the demo shop (docs/screenshots/take.sh); without them, the browser tests' host and a tiny run.
/// </summary>
[Category("Browser")]
[Explicit("Writes docs/screenshots; run on purpose.")]
public sealed class ScreenshotTests
{
    [Test]
    public async Task Screenshots_OfTheMainPages_AreWrittenToDocs()
    {
        var url = Environment.GetEnvironmentVariable("DISCOUNTS_UI_URL");
        var key = Environment.GetEnvironmentVariable("DISCOUNTS_UI_KEY");
        if (!File.Exists(BrowserHost.ChromiumPath)) Assert.Ignore($"Screenshots need Chromium at {BrowserHost.ChromiumPath}.");
        await BrowserHost.StartBrowserAsync(startHost: url is null);
        if (url is null)
        {
            url = BrowserHost.BaseAddress.ToString();
            key = TestHost.Keys[ApiRole.Scientist];
            await BrowserHost.TrainTinyRunAsync(new { epochs = 3, batchSize = 16, maxExamplesPerEpoch = 512, logEverySteps = 2, maxValidationUsers = 40, forcePromote = true });
        }

        using var api = new HttpClient { BaseAddress = new Uri(url) };
        api.DefaultRequestHeaders.Add(ApiKeyStore.HeaderName, key);
        var runs = (await api.GetFromJsonAsync<JsonElement>("/api/training/runs")).GetProperty("runs").EnumerateArray()
            .Where(r => r.GetProperty("status").GetString() == "succeeded").Select(r => r.GetProperty("id").GetInt64()).ToList();
        Assert.That(runs, Is.Not.Empty, "a finished run to show");
        // The run to show in detail: DISCOUNTS_UI_RUN, else the oldest finished one (the host's first fine-tune).
        var shown = long.TryParse(Environment.GetEnvironmentVariable("DISCOUNTS_UI_RUN"), out var chosen) ? chosen : runs[^1];
        var folder = Path.Combine(RepositoryRoot.Find(), "docs", "screenshots");
        Directory.CreateDirectory(folder);

        foreach (var (name, width, height) in new[] { ("", 1280, 800), ("-phone", 390, 844) })
        {
            await using var context = await BrowserHost.Browser.NewContextAsync(new BrowserNewContextOptions
            {
                BaseURL = url.TrimEnd('/'), ViewportSize = new ViewportSize { Width = width, Height = height }, DeviceScaleFactor = 1,
            });
            var page = await context.NewPageAsync();
            await page.GotoAsync("/ui/sign-in");
            await Shoot(page, folder, $"sign-in{name}");
            await page.FillAsync("#key", key!);
            await page.ClickAsync("button[type=submit]");
            await BrowserHost.WaitForPathAsync(page, "/ui");
            await Shoot(page, folder, $"overview{name}");
            await page.GotoAsync($"/ui/runs/{shown}");
            await page.Locator("#loss-chart[data-points]").WaitForAsync();
            await Shoot(page, folder, $"run-detail{name}");
            if (name.Length > 0) continue;

            await page.GotoAsync("/ui/runs");
            await Shoot(page, folder, "runs");
            await page.GotoAsync("/ui/runs/compare?" + string.Join("&", runs.Take(3).Select(id => $"ids={id}")));
            await page.Locator("#compare-chart[data-points]").WaitForAsync();
            await Shoot(page, folder, "compare");
            await page.GotoAsync("/ui/models");
            await Shoot(page, folder, "models");
            await page.GotoAsync("/ui/discounts");
            // The estimate and the holdout fit take seconds on the demo shop.
            await page.Locator("#qini-chart[data-points], #uplift-summary .error").First.WaitForAsync(new() { Timeout = 180_000 });
            await page.Locator("#policy-evaluation table, #policy-evaluation .error").First.WaitForAsync(new() { Timeout = 180_000 });
            await Shoot(page, folder, "discounts");
        }

        Assert.That(File.Exists(Path.Combine(folder, "run-detail.png")), Is.True);
    }

    private static async Task Shoot(IPage page, string folder, string name)
    {
        var path = Path.Combine(folder, name + ".png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        TestContext.Out.WriteLine($"wrote {path}");
    }
}
