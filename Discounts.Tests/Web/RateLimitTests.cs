using System.Net;
using Discounts.Web.Infrastructure;

namespace Discounts.Tests.Web;

public sealed class RateLimitTests
{
    [Test]
    public async Task AnyEndpoint_WhenAKeyExceedsItsRate_Returns429ProblemWithRetryAfter()
    {
        using var client = TestHost.Client(null);
        client.DefaultRequestHeaders.Add(ApiKeyStore.HeaderName, TestHost.SlowAnalystKey);

        var responses = new List<HttpResponseMessage>();
        for (var i = 0; i < 12; i++)
        {
            responses.Add(await client.GetAsync("/api/items?limit=1"));
        }

        var limited = responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.OK), Is.InRange(2, 8));
        Assert.That(limited, Is.Not.Empty);
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
