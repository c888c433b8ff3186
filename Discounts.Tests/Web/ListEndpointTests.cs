using System.Net;
using System.Net.Http.Json;
using Discounts.Web.Features.Items;
using Discounts.Web.Features.Users;
using Discounts.Web.Infrastructure;

namespace Discounts.Tests.Web;

public sealed class ListEndpointTests
{
    [Test]
    public async Task ListItems_WhenPagedTwice_ReturnsDisjointPagesWithCents()
    {
        using var client = TestHost.Client(ApiRole.Analyst);
        var first = await client.GetFromJsonAsync<ListItems.Result>("/api/items?limit=25");
        var second = await client.GetFromJsonAsync<ListItems.Result>($"/api/items?limit=25&cursor={first!.NextCursor}");

        Assert.Multiple(() =>
        {
            Assert.That(first.Items, Has.Count.EqualTo(25));
            Assert.That(first.NextCursor, Is.Not.Null);
            Assert.That(second!.Items, Has.Count.EqualTo(25));
            Assert.That(second.Items.Select(i => i.Id).Intersect(first.Items.Select(i => i.Id)), Is.Empty);
            Assert.That(first.Items, Has.All.Matches<ListItems.ItemSummary>(i => i.PriceCents > i.CostCents && i.CostCents > 0));
        });
    }

    [Test]
    public async Task ListUsers_WhenLastPageReached_HasNoNextCursor()
    {
        using var client = TestHost.Client(ApiRole.Analyst);
        var all = new List<ListUsers.UserSummary>();
        string? cursor = null;
        do
        {
            var page = await client.GetFromJsonAsync<ListUsers.Result>($"/api/users?limit=1000{(cursor is null ? "" : $"&cursor={cursor}")}");
            all.AddRange(page!.Users);
            cursor = page.NextCursor;
        }
        while (cursor is not null);

        Assert.That(all.Select(u => u.Id).Distinct().Count(), Is.EqualTo(all.Count).And.GreaterThanOrEqualTo(1_000));
        Assert.That(all, Has.All.Matches<ListUsers.UserSummary>(u => u.CreatedAt.Kind == DateTimeKind.Utc));
    }

    [TestCase("/api/items?limit=0", "limit")]
    [TestCase("/api/items?limit=1001", "limit")]
    [TestCase("/api/items?limit=abc", "limit")]
    [TestCase("/api/items?limit=99999999999999999999", "limit")]
    [TestCase("/api/items?cursor=../../etc/passwd", "cursor")]
    [TestCase("/api/users?cursor=-5", "cursor")]
    [TestCase("/api/users?limit=-1", "limit")]
    public async Task ListEndpoints_WhenQueryIsBad_Return400NamingTheField(string url, string field)
    {
        using var client = TestHost.Client(ApiRole.Admin);
        var response = await client.GetAsync(url);
        await response.AssertFieldErrorAsync(field);
    }

    [Test]
    public async Task UnknownRoute_WhenAuthenticated_Returns404Problem()
    {
        using var client = TestHost.Client(ApiRole.Admin);
        await (await client.GetAsync("/api/nothing-here")).AssertProblemAsync(HttpStatusCode.NotFound);
    }
}
