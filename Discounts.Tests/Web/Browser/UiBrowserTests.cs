using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Discounts.Core.Data;
using Discounts.Core.Domain;
using Discounts.Web.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace Discounts.Tests.Web.Browser;

/// <summary>The analyst UI in real Chromium against a listening host: sign-in, live run pages, models and who may act.</summary>
[Category("Browser")]
[NonParallelizable]
public sealed class UiBrowserTests
{
    /// <summary>Tiny runs: a couple of seconds each with the test host's 2-layer scorer.</summary>
    private static readonly object TinyRun = new
    {
        epochs = 2, batchSize = 16, learningRate = 0.003, maxExamplesPerEpoch = 256, logEverySteps = 2, maxValidationUsers = 40,
        freezeEmbeddings = true, forcePromote = true,
    };

    private long finishedRunId;

    [OneTimeSetUp]
    public async Task StartHostAndTrainTwoRuns()
    {
        await BrowserHost.StartAsync();
        // Two finished, promoted runs: a run to open, and an older version to roll back to.
        finishedRunId = await BrowserHost.TrainTinyRunAsync(TinyRun);
        await BrowserHost.TrainTinyRunAsync(TinyRun);
    }

    [Test]
    public async Task RunDetail_WhenRunFinished_ChartHoldsEveryPointTheLossEndpointReturns()
    {
        await using var context = await BrowserHost.NewContextAsync();
        var page = await BrowserHost.SignInAsync(context, ApiRole.Analyst);
        var expected = await BrowserHost.LossPointCountAsync(finishedRunId);

        await page.GotoAsync($"/ui/runs/{finishedRunId}");
        var chart = page.Locator("#loss-chart[data-points]");
        await chart.WaitForAsync();
        // Counted from the uPlot instance's own data, not from the attribute the page writes.
        var drawn = await page.EvaluateAsync<int>("""
            () => { const d = document.getElementById('loss-chart')._uplot.data; let n = 0;
                    for (let s = 1; s < d.length; s++) for (const v of d[s]) if (v != null) n++; return n; }
            """);
        // uPlot draws axis labels on the canvas, so they are read from its options.
        var axes = await page.EvaluateAsync<string[]>("() => document.getElementById('loss-chart')._uplot.axes.map(a => a.label)");

        Assert.Multiple(() =>
        {
            Assert.That(expected, Is.GreaterThan(10));
            Assert.That(drawn, Is.EqualTo(expected));
            Assert.That(axes, Is.SupersetOf(new[] { "step", "loss" }), "labelled axes");
        });
        Assert.Multiple(async () =>
        {
            Assert.That(await page.Locator("#run-status").TextContentAsync(), Is.EqualTo("succeeded"));
            Assert.That(await page.Locator("#hyperparameters").TextContentAsync(), Does.Contain("maxExamplesPerEpoch").And.Contain("256"));
            Assert.That(await page.Locator("#dataset-snapshot").TextContentAsync(), Does.Contain("examplesSha256"));
            Assert.That(await page.Locator("#run-metrics tbody tr").CountAsync(), Is.GreaterThanOrEqualTo(2), "base and fine-tuned metrics");
            Assert.That(await page.Locator("#metrics-chart[data-points]").GetAttributeAsync("data-points"), Is.Not.EqualTo("0"), "metric curves");
        });
    }

    [Test]
    public async Task RunDetail_WhenRunHas10000LossPoints_DrawsThemAll()
    {
        const int trainPoints = 10_000;
        long runId;
        await using (var scope = BrowserHost.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<DiscountsDbContext>();
            var at = DateTime.UtcNow;
            var run = new TrainingRun { Status = TrainingRunStatus.Succeeded, Device = "cpu", CreatedAt = at, StartedAt = at, FinishedAt = at.AddHours(1), ProgressPercent = 100 };
            db.TrainingRuns.Add(run);
            await db.SaveChangesAsync();
            var random = new Random(3);
            db.LossPoints.AddRange(Enumerable.Range(1, trainPoints).Select(step => new LossPoint
            {
                TrainingRunId = run.Id, Step = step, Epoch = 1 + (step - 1) / 1000, Split = LossSplit.Train, Loss = 0.7 * Math.Exp(-step / 3000.0) + 0.05 * random.NextDouble(), RecordedAt = at,
            }));
            db.LossPoints.AddRange(Enumerable.Range(1, 10).Select(epoch => new LossPoint
            {
                TrainingRunId = run.Id, Step = epoch * 1000, Epoch = epoch, Split = LossSplit.Validation, Loss = 0.7 * Math.Exp(-epoch / 3.0) + 0.02, RecordedAt = at,
            }));
            await db.SaveChangesAsync();
            runId = run.Id;
        }

        await using var context = await BrowserHost.NewContextAsync();
        var page = await BrowserHost.SignInAsync(context, ApiRole.Analyst);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await page.GotoAsync($"/ui/runs/{runId}");
        await page.Locator("#loss-chart[data-points]").WaitForAsync();
        var pageReady = clock.Elapsed.TotalMilliseconds;
        var drawn = int.Parse(await page.Locator("#loss-chart").GetAttributeAsync("data-points") ?? "0", System.Globalization.CultureInfo.InvariantCulture);
        var renderMs = double.Parse(await page.Locator("#loss-chart").GetAttributeAsync("data-render-ms") ?? "NaN", System.Globalization.CultureInfo.InvariantCulture);
        // A redraw as the live view does it every second: new data into the existing chart.
        var redrawMs = await page.EvaluateAsync<double>("""
            async () => { const el = document.getElementById('loss-chart'); const u = el._uplot;
                          const t = performance.now(); u.setData(u.data); await new Promise(requestAnimationFrame); return performance.now() - t; }
            """);
        TestContext.Out.WriteLine($"10,010 points: page ready in {pageReady:F0} ms, chart built in {renderMs} ms, redraw {redrawMs:F1} ms");

        // Speed is measured in benchmarks (the figures above go to the output); these bounds only catch a pathological
        // regression, so a loaded CI machine cannot fail them.
        Assert.Multiple(() =>
        {
            Assert.That(drawn, Is.EqualTo(trainPoints + 10));
            Assert.That(renderMs, Is.LessThan(10_000), "building the chart");
            Assert.That(redrawMs, Is.LessThan(10_000), "a live redraw");
        });
    }

    [Test]
    public async Task StartRun_WhenScientistStartsTinyRunFromUi_ProgressBarAndCurveGrowLive()
    {
        await using var context = await BrowserHost.NewContextAsync();
        var page = await BrowserHost.SignInAsync(context, ApiRole.Scientist);
        await page.GotoAsync("/ui/runs");
        await page.ClickAsync("#start-run summary");
        Assert.That(await page.Locator("select[name=Model] option").AllTextContentsAsync(), Has.Count.EqualTo(2), "two-tower or sequence");
        Assert.That(await page.InputValueAsync("select[name=Model]"), Is.EqualTo("TwoTower"), "the configured default");
        // Far longer than needed (800 steps), so the page polling once a second sees it move; it is cancelled as soon as
        // it has, so the suite does not wait for it.
        await page.FillAsync("input[name=Epochs]", "10");
        await page.FillAsync("input[name=BatchSize]", "16");
        await page.FillAsync("input[name=LearningRate]", "0.003");
        await page.FillAsync("input[name=MaxExamplesPerEpoch]", "1280");
        await page.FillAsync("input[name=LogEverySteps]", "4");
        await page.FillAsync("input[name=MaxValidationUsers]", "40");
        await page.ClickAsync("#start-run-button");
        await BrowserHost.WaitForPathAsync(page, "/ui/runs/[0-9]+");
        var runId = long.Parse(new Uri(page.Url).AbsolutePath.Split('/')[^1], System.Globalization.CultureInfo.InvariantCulture);

        // Watch the page (not the API) while the run goes: the progress bar and the chart must move on their own.
        var progress = new List<double>();
        var points = new List<int>();
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (DateTime.UtcNow < deadline && !(Midway(progress).Count >= 2 && Growing(points).Count >= 2))
        {
            try
            {
                var status = await page.Locator("#run-status").TextContentAsync();
                progress.Add(await page.EvalOnSelectorAsync<double>("#run-progress", "e => e.value"));
                points.Add(int.Parse(await page.Locator("#loss-chart").GetAttributeAsync("data-points") ?? "0", System.Globalization.CultureInfo.InvariantCulture));
                if (status is "succeeded" or "failed" or "cancelled") break;
            }
            catch (PlaywrightException)
            {
                // The page reloads itself once the run ends; a read during that reload is simply retried.
            }

            await Task.Delay(200);
        }

        using (var scientist = BrowserHost.Api(ApiRole.Scientist))
        {
            // 409: the run ended on its own first, which only makes this test slower.
            var cancel = await scientist.PostAsync($"/api/training/runs/{runId}/cancel", null);
            Assert.That(cancel.StatusCode, Is.EqualTo(HttpStatusCode.Accepted).Or.EqualTo(HttpStatusCode.Conflict), await cancel.Content.ReadAsStringAsync());
        }

        var run = await BrowserHost.WaitForRunAsync(runId);
        // The page reloads itself once the run has ended; the reloaded page is no longer live.
        await page.Locator("#run-live[data-live='false']").WaitForAsync();
        await page.Locator("#loss-chart[data-points]").WaitForAsync();
        var finalPoints = int.Parse(await page.Locator("#loss-chart").GetAttributeAsync("data-points") ?? "0", System.Globalization.CultureInfo.InvariantCulture);
        var midway = Midway(progress);
        var growing = Growing(points);
        TestContext.Out.WriteLine($"run {run.GetProperty("status").GetString()}; progress seen: {string.Join(" ", progress.Distinct())}; chart points seen: {string.Join(" ", points.Distinct())}");

        Assert.Multiple(async () =>
        {
            Assert.That(run.GetProperty("status").GetString(), Is.AnyOf("cancelled", "succeeded"));
            Assert.That(midway, Has.Count.GreaterThanOrEqualTo(2), "the progress bar moved through at least two values before the end");
            Assert.That(midway, Is.Ordered, "and only forward");
            Assert.That(growing, Has.Count.GreaterThanOrEqualTo(2), "the loss curve grew while the run went");
            Assert.That(finalPoints, Is.EqualTo(await BrowserHost.LossPointCountAsync(runId)));
        });
    }

    private static List<double> Midway(List<double> progress) => progress.Where(p => p is > 0 and < 100).Distinct().ToList();

    private static List<int> Growing(List<int> points) => points.Where(p => p > 0).Distinct().ToList();

    [Test]
    public async Task Models_WhenScientistRollsBack_TheOlderVersionServes()
    {
        using var api = BrowserHost.Api(ApiRole.Analyst);
        var before = await api.GetFromJsonAsync<JsonElement>("/api/models");
        var serving = before.GetProperty("servingModelVersionId").GetInt64();
        var older = before.GetProperty("models").EnumerateArray().Select(m => m.GetProperty("id").GetInt64()).Where(id => id < serving).Max();
        await using var context = await BrowserHost.NewContextAsync();
        var page = await BrowserHost.SignInAsync(context, ApiRole.Scientist);

        await page.GotoAsync("/ui/models");
        var button = page.Locator($"tr[data-model='{older}'] button.act");
        Assert.That(await button.TextContentAsync(), Is.EqualTo("Roll back"));
        await button.ClickAsync();
        await page.Locator("[data-testid=models-message]").WaitForAsync();

        var after = await api.GetFromJsonAsync<JsonElement>("/api/models");
        Assert.Multiple(async () =>
        {
            Assert.That(after.GetProperty("servingModelVersionId").GetInt64(), Is.EqualTo(older));
            Assert.That(await page.Locator("[data-testid=models-message]").TextContentAsync(), Does.Contain($"Version {older} is serving now"));
            Assert.That(await page.Locator($"tr[data-model='{older}'] button.act").CountAsync(), Is.Zero, "the serving version has no button");
            Assert.That(await page.Locator($"tr[data-model='{serving}'] button.act").TextContentAsync(), Is.EqualTo("Activate"));
        });
    }

    [Test]
    public async Task Pages_WhenAnalystSignedIn_ShowNoActButtonsAndRefuseActing()
    {
        using var api = BrowserHost.Api(ApiRole.Analyst);
        var serving = (await api.GetFromJsonAsync<JsonElement>("/api/models")).GetProperty("servingModelVersionId").GetInt64();
        await using var context = await BrowserHost.NewContextAsync();
        var page = await BrowserHost.SignInAsync(context, ApiRole.Analyst);

        await page.GotoAsync("/ui/runs");
        var runRows = await page.Locator("#runs-table tbody tr").CountAsync();
        var startForm = await page.Locator("#start-run").CountAsync();
        var jobsLink = await page.Locator("#jobs-link").CountAsync();
        await page.GotoAsync("/ui/models");
        var modelRows = await page.Locator("#models-table tbody tr").CountAsync();
        var actButtons = await page.Locator("button.act").CountAsync();
        // Hiding is not enough: a hand-made post with a valid antiforgery token is still refused.
        var forged = await page.EvaluateAsync<string>("""
            async () => {
              const token = document.querySelector('input[name=__RequestVerificationToken]').value;
              const body = new URLSearchParams({ id: '1', __RequestVerificationToken: token });
              const response = await fetch('/ui/models?handler=Activate', { method: 'POST', body });
              return new URL(response.url).pathname;
            }
            """);
        var after = (await api.GetFromJsonAsync<JsonElement>("/api/models")).GetProperty("servingModelVersionId").GetInt64();

        Assert.Multiple(() =>
        {
            Assert.That(runRows, Is.GreaterThan(0));
            Assert.That(modelRows, Is.GreaterThan(1), "versions are listed, so buttons would show for a scientist");
            Assert.That(startForm, Is.Zero);
            Assert.That(actButtons, Is.Zero);
            Assert.That(jobsLink, Is.Zero);
            Assert.That(forged, Is.EqualTo("/ui/denied"));
            Assert.That(after, Is.EqualTo(serving));
        });
    }

    [Test]
    public async Task UiPage_WhenAnonymous_RedirectsToSignInWhileTheApiAnswers401()
    {
        await using var context = await BrowserHost.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync("/ui/runs");
        using var anonymous = BrowserHost.Api(null);
        var api = await anonymous.GetAsync("/api/training/runs");

        Assert.Multiple(async () =>
        {
            Assert.That(new Uri(page.Url).AbsolutePath, Is.EqualTo("/ui/sign-in"));
            Assert.That(Uri.UnescapeDataString(new Uri(page.Url).Query), Does.Contain("ReturnUrl=/ui/runs"));
            Assert.That(await page.Locator("#key").CountAsync(), Is.EqualTo(1));
            Assert.That(api.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(api.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
        });
    }

    [Test]
    public async Task SignIn_WhenShopKey_IsRefused()
    {
        await using var context = await BrowserHost.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync("/ui/sign-in");
        await page.FillAsync("#key", TestHost.Keys[ApiRole.Shop]);
        await page.ClickAsync("button[type=submit]");
        await page.Locator("[data-testid=sign-in-error]").WaitForAsync();
        var cookies = await context.CookiesAsync();

        Assert.Multiple(async () =>
        {
            Assert.That(await page.Locator("[data-testid=sign-in-error]").TextContentAsync(), Does.Contain("Shop key cannot sign in"));
            Assert.That(cookies.Select(c => c.Name), Does.Not.Contain(UiSetup.CookieName));
        });
    }

    [Test]
    public async Task SignIn_WhenAnalystKey_SetsAStrictHttpOnlyCookieThatSignOutRemoves()
    {
        await using var context = await BrowserHost.NewContextAsync();
        var page = await BrowserHost.SignInAsync(context, ApiRole.Analyst);
        var cookie = (await context.CookiesAsync()).Single(c => c.Name == UiSetup.CookieName);
        var visible = await page.EvaluateAsync<string>("() => document.cookie");
        await page.ClickAsync("form.who button");
        await BrowserHost.WaitForPathAsync(page, "/ui/sign-in");

        Assert.Multiple(async () =>
        {
            Assert.That(cookie.HttpOnly, Is.True);
            Assert.That(cookie.SameSite, Is.EqualTo(SameSiteAttribute.Strict));
            Assert.That(cookie.Value, Does.Not.Contain(TestHost.Keys[ApiRole.Analyst]));
            Assert.That(visible, Does.Not.Contain(UiSetup.CookieName), "scripts cannot read it");
            Assert.That((await context.CookiesAsync()).Select(c => c.Name), Does.Not.Contain(UiSetup.CookieName));
        });
    }

    [Test]
    public async Task Hangfire_WhenAnonymousIs401_WhenScientistCookieIsServed()
    {
        using var anonymous = BrowserHost.Api(null);
        var refused = await anonymous.GetAsync("/hangfire");
        await using var analystContext = await BrowserHost.NewContextAsync();
        var analyst = await BrowserHost.SignInAsync(analystContext, ApiRole.Analyst);
        await analyst.GotoAsync("/hangfire");
        await using var context = await BrowserHost.NewContextAsync();
        var page = await BrowserHost.SignInAsync(context, ApiRole.Scientist);
        await page.ClickAsync("#jobs-link");
        await BrowserHost.WaitForPathAsync(page, "/hangfire(?:/.*)?");
        var response = await page.GotoAsync("/hangfire");

        Assert.Multiple(async () =>
        {
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(refused.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
            Assert.That(new Uri(analyst.Url).AbsolutePath, Is.EqualTo("/ui/denied"), "an analyst's cookie does not open the dashboard");
            Assert.That(response?.Status, Is.EqualTo(200));
            Assert.That(await page.TitleAsync(), Does.Contain("Discounts jobs"));
        });
    }
}
