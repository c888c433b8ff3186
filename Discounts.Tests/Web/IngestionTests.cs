using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Discounts.Core.Data;
using Discounts.Web.Features;
using Discounts.Web.Features.Events;
using Discounts.Web.Features.Items;
using Discounts.Web.Features.Texts;
using Discounts.Web.Features.Users;
using Discounts.Web.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Discounts.Tests.Web;

public sealed class IngestionTests
{
    private static readonly string Now = DateTime.UtcNow.AddMinutes(-1).ToString("O");

    [Test]
    public async Task UpsertItem_WhenSentTwice_CreatesThenUpdates()
    {
        using var client = TestHost.Client(ApiRole.Shop);
        var body = new { title = "Test Kettle", category = "Kitchen", priceCents = 2_999, costCents = 1_200 };
        var first = await (await client.PutAsJsonAsync("/api/items/it-kettle-1", body)).Content.ReadFromJsonAsync<UpsertItem.Result>();
        var second = await (await client.PutAsJsonAsync("/api/items/it-kettle-1", body with { priceCents = 2_499 })).Content.ReadFromJsonAsync<UpsertItem.Result>();

        Assert.That(first!.Created, Is.True);
        Assert.That(second!.Created, Is.False);
        Assert.That(await CountAsync(db => db.Items.Where(i => i.ExternalId == "it-kettle-1" && i.PriceCents == 2_499)), Is.EqualTo(1));
    }

    [Test]
    public async Task UpsertItem_WhenPriceNegative_Returns400NamingPriceCents()
    {
        using var client = TestHost.Client(ApiRole.Shop);
        var response = await client.PutAsJsonAsync("/api/items/it-bad-price", new { title = "x", category = "Kitchen", priceCents = -5 });
        await response.AssertFieldErrorAsync("priceCents");
    }

    [Test]
    public async Task UpsertItems_WhenOneRecordIsBad_RejectsTheBatchNamingIndexAndStoresNothing()
    {
        using var client = TestHost.Client(ApiRole.Shop);
        var items = Enumerable.Range(0, 5).Select(i => new
        {
            id = $"it-batch-bad-{i}", title = $"Item {i}", category = "Books", priceCents = i == 3 ? -1 : 1_000L,
        }).ToList();
        var before = await CountAsync(db => db.Items);

        var response = await client.PostAsJsonAsync("/api/items/batch", new { items });

        await response.AssertFieldErrorAsync("items[3].priceCents");
        Assert.That(await CountAsync(db => db.Items), Is.EqualTo(before));
    }

    [Test]
    public async Task UpsertItems_WhenBatchIsValid_StoresAll()
    {
        using var client = TestHost.Client(ApiRole.Admin);
        var items = Enumerable.Range(0, 50).Select(i => new { id = $"it-batch-ok-{i}", title = $"Item {i}", category = "Books", priceCents = 1_000 + i }).ToList();
        var result = await (await client.PostAsJsonAsync("/api/items/batch", new { items })).Content.ReadFromJsonAsync<UpsertItems.Result>();

        Assert.That(result, Is.EqualTo(new UpsertItems.Result(50, 0)));
        Assert.That(await CountAsync(db => db.Items.Where(i => i.ExternalId.StartsWith("it-batch-ok-"))), Is.EqualTo(50));
    }

    [Test]
    public async Task UpsertUser_WhenSent_StoresConsent()
    {
        using var client = TestHost.Client(ApiRole.Shop);
        var response = await client.PutAsJsonAsync("/api/users/u-consent-1", new { consentPersonalisation = true, consentMarketing = false });
        var result = await response.Content.ReadFromJsonAsync<UpsertUser.Result>();

        Assert.That(result!.Created, Is.True);
        Assert.That(await CountAsync(db => db.Users.Where(u => u.ExternalId == "u-consent-1" && u.ConsentPersonalisation && !u.ConsentMarketing)), Is.EqualTo(1));
    }

    [Test]
    public async Task IngestEvents_WhenReplayed_AcceptsOnceAndCountsDuplicates()
    {
        using var client = TestHost.Client(ApiRole.Shop);
        var events = Enumerable.Range(0, 3).Select(i => Event($"ev-replay-{i}", "u-replay", "sku-000001", "purchase", priceCents: 1_999)).ToList();

        var first = await (await client.PostAsJsonAsync("/api/events/batch", new { events })).Content.ReadFromJsonAsync<IngestEvents.Result>();
        var again = await (await client.PostAsJsonAsync("/api/events/batch", new { events = events.Append(Event("ev-replay-3", "u-replay", "sku-000002", "view")) }))
            .Content.ReadFromJsonAsync<IngestEvents.Result>();

        Assert.That(first, Is.EqualTo(new IngestEvents.Result(3, 0, 1)));
        Assert.That(again, Is.EqualTo(new IngestEvents.Result(1, 3, 0)));
        Assert.That(await CountAsync(db => db.Events.Where(e => e.IdempotencyKey.StartsWith("ev-replay-"))), Is.EqualTo(4));
    }

    [Test]
    public async Task IngestEvents_WhenSameEventIdTwiceInOneBatch_StoresItOnce()
    {
        using var client = TestHost.Client(ApiRole.Shop);
        var events = new[] { Event("ev-twice", "u-twice", "sku-000003", "view"), Event("ev-twice", "u-twice", "sku-000003", "view") };
        var result = await (await client.PostAsJsonAsync("/api/events/batch", new { events })).Content.ReadFromJsonAsync<IngestEvents.Result>();

        Assert.That(result, Is.EqualTo(new IngestEvents.Result(1, 1, 1)));
    }

    [Test]
    public async Task IngestEvents_WhenItemUnknown_Returns400NamingTheRecordAndStoresNothing()
    {
        using var client = TestHost.Client(ApiRole.Shop);
        var events = new[] { Event("ev-unknown-0", "u-unknown-item", "sku-000004", "view"), Event("ev-unknown-1", "u-unknown-item", "no-such-sku", "click") };
        var (eventsBefore, usersBefore) = (await CountAsync(db => db.Events), await CountAsync(db => db.Users));

        var response = await client.PostAsJsonAsync("/api/events/batch", new { events });

        await response.AssertFieldErrorAsync("events[1].itemId");
        Assert.That(await CountAsync(db => db.Events), Is.EqualTo(eventsBefore));
        Assert.That(await CountAsync(db => db.Users), Is.EqualTo(usersBefore));
    }

    [TestCase("priceCents", -1, "events[2].priceCents")]
    [TestCase("discountPercent", 101, "events[2].discountPercent")]
    [TestCase("eventId", "", "events[2].eventId")]
    [TestCase("occurredAt", "2026-11-28T10:00:00", "events[2].occurredAt")]
    [TestCase("occurredAt", "2999-01-01T00:00:00Z", "events[2].occurredAt")]
    [TestCase("kind", "offerRedeemed", "events[2].kind")]
    public async Task IngestEvents_WhenOneRecordIsBad_Returns400NamingIndexAndField(string field, object value, string expected)
    {
        using var client = TestHost.Client(ApiRole.Shop);
        var events = Enumerable.Range(0, 4).Select(i => (Dictionary<string, object?>)new(Event($"ev-bad-{field}-{i}", "u-bad", "sku-000005", "purchase", 500))).ToList();
        events[2][field] = value;
        var before = await CountAsync(db => db.Events);

        var response = await client.PostAsJsonAsync("/api/events/batch", new { events });

        await response.AssertFieldErrorAsync(expected);
        Assert.That(await CountAsync(db => db.Events), Is.EqualTo(before));
    }

    [TestCase("""{"events":[{"eventId":5}]}""", "events[0].eventId")]
    [TestCase("""{"events":[{"eventId":"e","kind":"teleport"}]}""", "events[0].kind")]
    [TestCase("""{"events":[{"priceCents":"12.50"}]}""", "events[0].priceCents")]
    [TestCase("""{"events":[{"priceCents":1e400}]}""", "events[0].priceCents")]
    [TestCase("""{"events":"all of them"}""", "events")]
    [TestCase("""{"events":[{"eventId":"a",""", "events[0]")]
    [TestCase("""not json at all""", "body")]
    [TestCase("""{"events":null}""", "events")]
    [TestCase("""{"events":[]}""", "events")]
    [TestCase("""{"events":[null]}""", "events[0]")]
    public async Task IngestEvents_WhenBodyIsGarbage_Returns400NamingTheFieldAndStoresNothing(string body, string field)
    {
        using var client = TestHost.Client(ApiRole.Shop);
        var before = await CountAsync(db => db.Events);

        var response = await client.PostAsync("/api/events/batch", new StringContent(body, Encoding.UTF8, "application/json"));

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        var names = problem.GetProperty("errors").EnumerateObject().Select(p => p.Name).ToList();
        Assert.That(names, Has.Some.StartsWith(field), problem.ToString());
        Assert.That(await CountAsync(db => db.Events), Is.EqualTo(before));
    }

    [Test]
    public async Task IngestEvents_WhenMoreThanTheBatchLimit_Returns400NamingEvents()
    {
        using var client = TestHost.Client(ApiRole.Shop);
        var events = Enumerable.Range(0, Limits.MaxBatchSize + 1).Select(i => Event($"ev-huge-{i}", "u-huge", "sku-000006", "view")).ToList();
        var before = await CountAsync(db => db.Events);

        var response = await client.PostAsJsonAsync("/api/events/batch", new { events });

        await response.AssertFieldErrorAsync("events");
        Assert.That(await CountAsync(db => db.Events), Is.EqualTo(before));
    }

    [Test]
    public async Task IngestEvents_WhenBodyExceedsTheSizeLimit_Returns413AndStoresNothing()
    {
        using var client = TestHost.Client(ApiRole.Shop);
        var before = await CountAsync(db => db.Events);
        var body = new byte[Ingestion.MaxBodyBytes + 1];
        body.AsSpan().Fill((byte)' ');
        "{\"events\":["u8.CopyTo(body);
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new("application/json");

        var response = await client.PostAsync("/api/events/batch", content);

        var problem = await response.AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge);
        Assert.That(problem.GetProperty("title").GetString(), Does.Contain("too large"));
        Assert.That(await CountAsync(db => db.Events), Is.EqualTo(before));
    }

    [Test]
    public async Task IngestEvents_WhenCallerIsAnalyst_Returns403()
    {
        using var client = TestHost.Client(ApiRole.Analyst);
        var response = await client.PostAsJsonAsync("/api/events/batch", new { events = new[] { Event("ev-403", "u-403", "sku-000001", "view") } });
        await response.AssertProblemAsync(HttpStatusCode.Forbidden);
    }

    [Test]
    public async Task IngestEvents_WhenOfferUnknown_Returns400NamingOfferId()
    {
        using var client = TestHost.Client(ApiRole.Shop);
        var record = new Dictionary<string, object?>(Event("ev-offer", "u-offer", "sku-000001", "view")) { ["offerId"] = "no-such-offer" };
        var response = await client.PostAsJsonAsync("/api/events/batch", new { events = new[] { record } });
        await response.AssertFieldErrorAsync("events[0].offerId");
    }

    [Test]
    public async Task IngestTexts_WhenPersonalDataAndMarkup_StoresOnlyCleanedText()
    {
        using var client = TestHost.Client(ApiRole.Shop);
        var texts = new object[]
        {
            new { userId = "u-pii", kind = "review", itemId = "sku-000007", rating = 5, occurredAt = Now,
                  text = "<p>Great <b>serum</b>! Mail me: jane.doe@example.com or +44 20 7946 0958, card 4111 1111 1111 1111</p>" },
            new { userId = "u-pii", kind = "chat", text = "https://only-a-link.example/x" },
            new { userId = "u-pii", kind = "search", text = "保湿面霜 推荐" },
        };

        var result = await (await client.PostAsJsonAsync("/api/texts/batch", new { texts })).Content.ReadFromJsonAsync<IngestTexts.Result>();

        Assert.That(result, Is.EqualTo(new IngestTexts.Result(2, 1, 1)));
        var stored = await ReadAsync(db => db.UserTexts.Where(t => t.User!.ExternalId == "u-pii").OrderBy(t => t.Id).Select(t => t.Text).ToListAsync());
        Assert.That(stored, Is.EqualTo(new[] { "Great serum! Mail me: [email] or [phone], card [card]", "保湿面霜 推荐" }));
    }

    [TestCase("search", 4, "texts[1].rating")]
    [TestCase("review", 9, "texts[1].rating")]
    public async Task IngestTexts_WhenRatingIsWrong_Returns400NamingTheRecord(string kind, int rating, string field)
    {
        using var client = TestHost.Client(ApiRole.Shop);
        var texts = new object[] { new { userId = "u-rating", kind = "search", text = "matcha" }, new { userId = "u-rating", kind, text = "fine", rating } };
        var before = await CountAsync(db => db.UserTexts);

        await (await client.PostAsJsonAsync("/api/texts/batch", new { texts })).AssertFieldErrorAsync(field);
        Assert.That(await CountAsync(db => db.UserTexts), Is.EqualTo(before));
    }

    [Test]
    public async Task IngestTexts_WhenTextTooLongOrItemUnknown_Returns400NamingEach()
    {
        using var client = TestHost.Client(ApiRole.Shop);
        var texts = new object[]
        {
            new { userId = "u-long", kind = "review", text = new string('a', Limits.TextLength + 1) },
            new { userId = "u-long", kind = "review", text = "ok", itemId = "no-such-sku" },
        };

        var tooLong = await client.PostAsJsonAsync("/api/texts/batch", new { texts = texts.Take(1) });
        var unknownItem = await client.PostAsJsonAsync("/api/texts/batch", new { texts = texts.Skip(1) });

        await tooLong.AssertFieldErrorAsync("texts[0].text");
        await unknownItem.AssertFieldErrorAsync("texts[0].itemId");
    }

    internal static Dictionary<string, object?> Event(string eventId, string userId, string itemId, string kind, long? priceCents = null) => new()
    {
        ["eventId"] = eventId, ["userId"] = userId, ["itemId"] = itemId, ["kind"] = kind, ["priceCents"] = priceCents, ["occurredAt"] = Now,
    };

    internal static Task<int> CountAsync<T>(Func<DiscountsDbContext, IQueryable<T>> query) => ReadAsync(db => query(db).CountAsync());

    internal static async Task<TResult> ReadAsync<TResult>(Func<DiscountsDbContext, Task<TResult>> read)
    {
        await using var scope = TestHost.Factory.Services.CreateAsyncScope();
        return await read(scope.ServiceProvider.GetRequiredService<DiscountsDbContext>());
    }
}
