using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Discounts.Core.Data;
using Discounts.Web.Infrastructure;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Discounts.Tests.Web;

/// <summary>
/// Throws generated garbage at every endpoint in the endpoint table, with a key allowed to call them all: malformed
/// JSON, wrong types, huge strings, overflowing numbers, unknown enum values, invalid UTF-8, deep nesting and path
/// tricks. Nothing may answer 5xx, every 4xx must be ProblemDetails, and nothing stored may change.
/// </summary>
public sealed class HostileInputTests
{
    private const int Requests = 5_000;

    /// <summary>Ids every validator must refuse (ordinary-looking strings such as "0" or "null" are legitimate ids).</summary>
    private static readonly string[] HostileIds =
    [
        // A NUL in the path is refused by Kestrel before routing (and by the test server before sending), so it is not here.
        "..%2F..%2Fetc%2Fpasswd", "%2e%2e", "a%2Fb", "%FF%FE", "'%20OR%201=1--", "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        new string('x', 5_000), "-1", "%F0%9F%92%A5", "%20", "user-00001%2F..", "a%20b", "%5C%5Cserver%5Cshare",
    ];

    private static readonly string[] HostileValues =
    [
        "null", "true", "-1", "0", "1e309", "-1e309", "99999999999999999999999999", "-9223372036854775809", "1.5", "\"\"",
        "\"NaN\"", "\"not-an-enum-value\"", "[]", "{}", "[[[[[]]]]]", "\"" + new string('a', 200_000) + "\"", "\"\\u0000\\u0001\"",
        "\"<script>alert(1)</script>\"", "\"../../etc/passwd\"", "\"2026-13-45T99:99:99Z\"", "{\"$type\":\"System.IO.File\"}",
    ];

    private static readonly string[] FieldNames =
    [
        "id", "userId", "itemId", "itemIds", "items", "events", "texts", "priceCents", "costCents", "discountPercent", "offerId",
        "eventId", "kind", "rating", "occurredAt", "campaignId", "title", "category", "limit", "cursor", "hyperparameters", "force", "count", "withDiscounts", "recommendationId",
    ];

    [Test]
    public async Task EveryEndpoint_WhenFedGarbage_NeverAnswers5xxAlwaysProblemDetailsAndStoresNothing()
    {
        var endpoints = TestHost.Factory.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Select(method => (Method: method, Route: e.RoutePattern.RawText ?? "")))
            .Where(e => !e.Route.StartsWith("/hangfire", StringComparison.Ordinal) || e.Method == "GET")
            // These take no required input, so an empty or unrelated body is a valid request that queues real work
            // (a rebuild, a retraining, a fine-tune run); their refusals are covered by their own tests.
            .Where(e => e.Route is not ("/api/profiles/rebuild" or "/api/discounts/uplift-model/train")
                        && !(e.Method == "POST" && e.Route == "/api/training/runs"))
            .Distinct()
            .ToList();
        // The recommendation blend is fitted (and stored) in the background once the scorer serves.
        await RecommendationEndpointTests.WaitForBlendAsync();
        await TestHost.WaitForBackgroundJobsAsync(TimeSpan.FromSeconds(180));
        var before = await SnapshotAsync();
        using var client = TestHost.Client(null);
        client.DefaultRequestHeaders.Add(ApiKeyStore.HeaderName, TestHost.UnlimitedAdminKey);
        var random = new Random(2026);
        var failures = new List<string>();
        var statuses = new Dictionary<int, int>();

        for (var i = 0; i < Requests; i++)
        {
            var (method, route) = endpoints[i % endpoints.Count];
            using var request = new HttpRequestMessage(new HttpMethod(method), Path(route, random) + Query(random));
            if (method is "POST" or "PUT" or "PATCH" or "DELETE")
            {
                request.Content = Body(random);
            }

            using var response = await client.SendAsync(request);
            var status = (int)response.StatusCode;
            statuses[status] = statuses.GetValueOrDefault(status) + 1;
            var mediaType = response.Content.Headers.ContentType?.MediaType;
            if (status >= 500 || (status >= 400 && mediaType != "application/problem+json"))
            {
                failures.Add($"{method} {request.RequestUri} → {status} {mediaType}: {Truncate(await response.Content.ReadAsStringAsync())}");
            }
        }

        // Garbage may legitimately queue work; let it finish before comparing, and before other tests run.
        await TestHost.WaitForBackgroundJobsAsync(TimeSpan.FromSeconds(180));
        var after = await SnapshotAsync();
        TestContext.Out.WriteLine($"{Requests} hostile requests over {endpoints.Count} endpoints; statuses: {string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}×{s.Value}"))}");
        Assert.That(failures, Is.Empty, string.Join("\n", failures.Take(20)));
        Assert.That(after, Is.EqualTo(before));
    }

    private static string Path(string route, Random random)
    {
        var path = System.Text.RegularExpressions.Regex.Replace(route, @"\{\*{0,2}[^}]+\}", _ => HostileIds[random.Next(HostileIds.Length)]);
        return path.Length == 0 ? "/" : path;
    }

    private static string Query(Random random)
    {
        var value = HostileValues[random.Next(HostileValues.Length)];
        return random.Next(4) switch
        {
            0 => "",
            1 => $"?limit={HostileIds[random.Next(HostileIds.Length)]}",
            2 => $"?count={random.Next(-5, 5) * 1_000_000}&withDiscounts=maybe&cursor=%FF",
            _ => $"?{FieldNames[random.Next(FieldNames.Length)]}={Uri.EscapeDataString(value[..Math.Min(100, value.Length)])}",
        };
    }

    private static HttpContent Body(Random random)
    {
        byte[] bytes = random.Next(10) switch
        {
            0 => Encoding.UTF8.GetBytes("{\"userId\": \"user-00001\", \"itemIds\": [\"sku-000001\""),
            1 => [0x7B, 0x22, 0x61, 0x22, 0x3A, 0x22, 0xC3, 0x28, 0xFF, 0xFE, 0x22, 0x7D],
            2 => Encoding.UTF8.GetBytes(new string('[', 5_000) + new string(']', 5_000)),
            3 => Encoding.UTF8.GetBytes(HostileValues[random.Next(HostileValues.Length)]),
            4 => [],
            5 => Encoding.UTF8.GetBytes("<xml>not json</xml>"),
            _ => Encoding.UTF8.GetBytes(RandomObject(random, depth: 0)),
        };
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = random.Next(8) == 0 ? new MediaTypeHeaderValue("text/plain") : new MediaTypeHeaderValue("application/json");
        return content;
    }

    private static string RandomObject(Random random, int depth)
    {
        var fields = Enumerable.Range(0, random.Next(1, 6)).Select(_ =>
        {
            var value = depth < 2 && random.Next(4) == 0
                ? (random.Next(2) == 0 ? RandomObject(random, depth + 1) : $"[{RandomObject(random, depth + 1)}]")
                : HostileValues[random.Next(HostileValues.Length)];
            return $"\"{FieldNames[random.Next(FieldNames.Length)]}\": {value}";
        });
        return "{" + string.Join(", ", fields) + "}";
    }

    private static string Truncate(string text) => text.Length > 300 ? text[..300] + "…" : text;

    /// <summary>Row counts of every table plus the money columns, so any write shows.</summary>
    private static async Task<string> SnapshotAsync()
    {
        await using var scope = TestHost.Factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<DiscountsDbContext>();
        var counts = new List<string>();
        foreach (var table in db.Model.GetEntityTypes().Select(t => t.GetTableName()).Distinct().Order())
        {
            // Table names come from the EF model, not from input.
            var sql = "SELECT COUNT(*) AS \"Value\" FROM \"" + table + "\"";
            var count = await db.Database.SqlQueryRaw<long>(sql).SingleAsync();
            counts.Add($"{table}={count}");
        }

        var spent = await db.Campaigns.SumAsync(c => c.SpentCents);
        var prices = await db.Items.SumAsync(i => i.PriceCents);
        return $"{string.Join(" ", counts)} spent={spent} prices={prices}";
    }
}
