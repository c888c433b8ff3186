using System.Diagnostics;
using System.Net;
using Discounts.Web.Infrastructure;

namespace Discounts.Tests.Web;

public sealed class RateLimitTests
{
    [Test]
    public async Task AnyEndpoint_WhenAKeyExceedsItsRate_Returns429ProblemWithRetryAfter()
    {
        const int permitsPerSecond = 2;
        const int burst = 4;
        using var client = TestHost.Client(null);
        client.DefaultRequestHeaders.Add(ApiKeyStore.HeaderName, TestHost.SlowAnalystKey);

        // At least 12 requests, and more (up to 40) if none was refused yet: on a slow machine the bucket refills
        // while they run, so the limit shows only once requests outpace 2 a second.
        var responses = new List<HttpResponseMessage>();
        var clock = Stopwatch.StartNew();
        while (responses.Count < 12 || (responses.Count < 40 && responses.All(r => r.StatusCode != HttpStatusCode.TooManyRequests)))
        {
            responses.Add(await client.GetAsync("/api/items?limit=1"));
        }

        var elapsed = clock.Elapsed;
        var ok = responses.Count(r => r.StatusCode == HttpStatusCode.OK);
        var limited = responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        // A full bucket, plus what it refills while the requests run, plus one for a refill landing at the very end.
        var mostAllowed = burst + (permitsPerSecond * (int)Math.Ceiling(elapsed.TotalSeconds)) + 1;
        var summary = $"{ok} OK and {limited.Count} refused of {responses.Count} requests in {elapsed.TotalMilliseconds:F0} ms";
        TestContext.Out.WriteLine(summary);
        Assert.That(ok, Is.LessThanOrEqualTo(mostAllowed), summary);
        Assert.That(limited, Is.Not.Empty, summary);
        await limited[0].AssertProblemAsync(HttpStatusCode.TooManyRequests);
        Assert.That(limited[0].Headers.RetryAfter, Is.Not.Null);
    }

    [Test]
    public async Task OtherKeys_WhenOneKeyIsLimited_AreNotAffected()
    {
        using var slow = TestHost.Client(null);
        slow.DefaultRequestHeaders.Add(ApiKeyStore.HeaderName, TestHost.SlowAnalystKey);
        for (var i = 0; i < 10; i++)
        {
            await slow.GetAsync("/api/items?limit=1");
        }

        using var other = TestHost.Client(ApiRole.Analyst);
        var response = await other.GetAsync("/api/items?limit=1");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task Health_WhenCalledManyTimes_IsNeverLimited()
    {
        using var client = TestHost.Client(null);
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 50; i++)
        {
            statuses.Add((await client.GetAsync("/health/live")).StatusCode);
        }

        Assert.That(statuses, Has.All.EqualTo(HttpStatusCode.OK));
    }
}
