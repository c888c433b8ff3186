using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Discounts.Core.Data;
using Discounts.Core.Domain;
using Discounts.Training.FineTuning;
using Discounts.Training.Scorer;
using Discounts.Web.Features.Discounts;
using Discounts.Core.Serving;
using Discounts.Web.Features.Recommendations;
using Discounts.Web.Features.Users;
using Discounts.Web.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Discounts.Tests.Web;

/// <summary>The right to erasure, and personal data kept out of logs.</summary>
public sealed class PrivacyTests
{
    [Test]
    public async Task EraseUser_WhenAdminErases_RemovesEverythingKeepsCampaignSpendAndTrainingNeverSeesThemAgain()
    {
        var id = $"erase-me-{Guid.NewGuid():N}"[..24];
        using var shop = TestHost.Client(ApiRole.Shop);
        using var admin = TestHost.Client(ApiRole.Admin);
        var past = DateTime.UtcNow.AddDays(-40);
        var events = Enumerable.Range(1, 6).Select(i => new
        {
            eventId = $"{id}-e{i}", userId = id, itemId = $"sku-{i:D6}", kind = i % 2 == 0 ? "purchase" : "view",
            priceCents = (long?)1999, discountPercent = 0, occurredAt = past.AddHours(i),
        }).ToList();
        (await shop.PutAsJsonAsync($"/api/users/{id}", new { consentPersonalisation = true, consentMarketing = true })).EnsureSuccessStatusCode();
        (await shop.PostAsJsonAsync("/api/texts/batch", new
        {
            texts = new[]
            {
                new { userId = id, kind = "review", text = "Velvet matte lipstick erasurewordalpha stays all day", itemId = (string?)"sku-000002", rating = (int?)5, occurredAt = past },
                new { userId = id, kind = "search", text = "erasurewordalpha gloss", itemId = (string?)null, rating = (int?)null, occurredAt = past },
            },
        })).EnsureSuccessStatusCode();
        (await shop.PostAsJsonAsync("/api/events/batch", new { events })).EnsureSuccessStatusCode();
        var quoted = await (await shop.PostAsJsonAsync("/api/discounts/quotes", new { userId = id, itemIds = new[] { "sku-000003", "sku-000004" } }))
            .Content.ReadFromJsonAsync<QuoteDiscount.Result>(TestJson.Options);
        Assert.That(quoted!.Quotes, Has.Count.EqualTo(2));
        var redeemedOffer = await SeedDiscountedOfferAsync(id);
        var redeemed = await shop.PostAsJsonAsync($"/api/discounts/offers/{redeemedOffer.ExternalId}/redeem", new { userId = id });
        Assert.That(redeemed.StatusCode, Is.EqualTo(HttpStatusCode.OK), await redeemed.Content.ReadAsStringAsync());
        var profiled = await TestHost.WaitForProfileAsync(admin, id);
        Assert.That(profiled.Version, Is.GreaterThan(0));
        var recommended = await shop.GetAsync($"/api/users/{id}/recommendations?count=3");
        Assert.That(recommended.StatusCode, Is.EqualTo(HttpStatusCode.OK), await recommended.Content.ReadAsStringAsync());
        await TestHost.Factory.Services.GetRequiredService<ImpressionLog>().FlushAsync(CancellationToken.None);

        long internalId;
        long spentBefore;
        await using (var scope = TestHost.Factory.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<DiscountsDbContext>();
            internalId = await db.Users.Where(u => u.ExternalId == id).Select(u => u.Id).SingleAsync();
            spentBefore = await db.Campaigns.SumAsync(c => c.SpentCents);
            Assert.That((await TrainingData.LoadAsync(db, new FineTuneHyperparameters(), CancellationToken.None)).Train.Any(e => e.UserId == internalId), Is.True,
                "before erasure the user is in the training data, so the check after it means something");
            Assert.That(await db.RecommendationLists.AnyAsync(l => l.UserId == internalId), Is.True, "the served list was stored");
        }

        var erase = await admin.DeleteAsync($"/api/users/{id}");
        var result = await erase.Content.ReadFromJsonAsync<EraseUser.Result>(TestJson.Options);
        var again = await admin.DeleteAsync($"/api/users/{id}");

        await using (var scope = TestHost.Factory.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<DiscountsDbContext>();
            await Assert.MultipleAsync(async () =>
            {
                Assert.That(erase.StatusCode, Is.EqualTo(HttpStatusCode.OK));
                Assert.That(result!.Texts, Is.EqualTo(2));
                Assert.That(result.Events, Is.EqualTo(7), "six sent plus the redemption");
                Assert.That(result.Offers, Is.EqualTo(3));
                Assert.That(result.Profile, Is.True);
                Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
                Assert.That(await db.Users.AnyAsync(u => u.ExternalId == id || u.Id == internalId), Is.False);
                Assert.That(await db.UserTexts.AnyAsync(t => t.UserId == internalId || t.Text.Contains("erasurewordalpha")), Is.False);
                Assert.That(await db.Events.AnyAsync(e => e.UserId == internalId || e.IdempotencyKey.StartsWith(id)), Is.False);
                Assert.That(await db.Offers.AnyAsync(o => o.UserId == internalId), Is.False);
                Assert.That(await db.Profiles.AnyAsync(p => p.UserId == internalId), Is.False);
                Assert.That(await db.ProfileRefreshRequests.AnyAsync(p => p.UserId == internalId), Is.False);
                Assert.That(await db.RecommendationLists.AnyAsync(l => l.UserId == internalId), Is.False, "served lists go with the user");
                Assert.That(await db.Campaigns.SumAsync(c => c.SpentCents), Is.EqualTo(spentBefore), "money already charged stays charged");
                Assert.That(await db.ErasedUsers.AnyAsync(e => e.ExternalIdSha256 == ErasedUser.HashOf(id)), Is.True);
                Assert.That(await db.ErasedUsers.AnyAsync(e => e.ExternalIdSha256.Contains("erase-me")), Is.False, "the tombstone keeps a hash, not the id");
            });
        }

        // The shop re-creates the id and re-sends the old events: a new, empty user, and nothing old is learned from.
        (await shop.PutAsJsonAsync($"/api/users/{id}", new { consentPersonalisation = true, consentMarketing = false })).EnsureSuccessStatusCode();
        (await shop.PostAsJsonAsync("/api/events/batch", new { events })).EnsureSuccessStatusCode();
        var profile = await (await admin.GetAsync($"/api/users/{id}/profile")).Content.ReadFromJsonAsync<JsonElement>();
        await using (var scope = TestHost.Factory.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<DiscountsDbContext>();
            var newId = await db.Users.Where(u => u.ExternalId == id).Select(u => u.Id).SingleAsync();
            var data = await TrainingData.LoadAsync(db, new FineTuneHyperparameters(), CancellationToken.None);
            Assert.Multiple(() =>
            {
                Assert.That(newId, Is.Not.EqualTo(internalId));
                Assert.That(profile.GetProperty("keywords").GetArrayLength(), Is.Zero);
                Assert.That(profile.ToString(), Does.Not.Contain("erasurewordalpha"));
                Assert.That(data.Train.Concat(data.Validation).Where(e => e.UserId == internalId || e.UserId == newId), Is.Empty);
                Assert.That(data.HeldOutPurchases.Where(p => p.UserId == internalId || p.UserId == newId), Is.Empty);
                Assert.That(data.UserTexts.GetValueOrDefault(newId, ""), Does.Not.Contain("erasurewordalpha"));
            });
        }
    }

    [Test]
    public async Task Logs_WhenTextsWithPersonalDataAreIngestedAndProfiled_NeverHoldTheTextEmailsPhonesOrKeys()
    {
        const string email = "jane.reliab.7731@example.com";
        const string phone = "+44 7700 900731";
        const string secretKey = "sk_live_Reliab7731SecretKeyZZQ";
        const string phrase = "my grandmother's zqxreliab lipstick shade";
        var wrongKey = "reliab-wrong-key-" + Guid.NewGuid().ToString("N");
        var id = $"logscan-{Guid.NewGuid():N}"[..20];
        var mark = CapturedLogs.Instance.Mark;
        using var shop = TestHost.Client(ApiRole.Shop);
        using var admin = TestHost.Client(ApiRole.Admin);

        var texts = new[]
        {
            new { userId = id, kind = "chat", text = $"Hi, {phrase}, write to {email} or call {phone}", occurredAt = DateTime.UtcNow.AddMinutes(-5) },
            new { userId = id, kind = "search", text = $"{phrase} api key {secretKey}", occurredAt = DateTime.UtcNow.AddMinutes(-4) },
        };
        var stored = await shop.PostAsJsonAsync("/api/texts/batch", new { texts });
        // The refusal path too: a bad record next to personal data.
        var refused = await shop.PostAsJsonAsync("/api/texts/batch", new { texts = new object[] { texts[0], new { userId = id, kind = "shout", text = $"{email} {secretKey}" } } });
        using var wrong = TestHost.Client(null);
        wrong.DefaultRequestHeaders.Add(ApiKeyStore.HeaderName, wrongKey);
        var unauthorised = await wrong.GetAsync("/api/items");
        await TestHost.WaitForProfileAsync(admin, id);
        // Let the debounced refresh and any job logging after it finish writing.
        await Task.Delay(TimeSpan.FromSeconds(1));

        var lines = CapturedLogs.Instance.Since(mark);
        string[] secrets = [email, "7700 900731", "7700900731", secretKey, phrase, "zqxreliab", wrongKey, .. TestHost.Keys.Values, TestHost.UnlimitedAdminKey];
        var leaks = secrets.SelectMany(secret => lines.Where(l => l.Contains(secret, StringComparison.OrdinalIgnoreCase)).Select(l => $"{secret}: {l}")).ToList();
        TestContext.Out.WriteLine($"{lines.Count} log lines scanned for {secrets.Length} secrets");
        Assert.Multiple(() =>
        {
            Assert.That(stored.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(unauthorised.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(lines, Has.Count.GreaterThan(0), "the capture sees the host's logs");
            Assert.That(leaks, Is.Empty, string.Join("\n", leaks.Take(10)));
        });
    }

    /// <summary>A 10 % offer on an active campaign, quoted now, so its redemption charges real money.</summary>
    private static async Task<Offer> SeedDiscountedOfferAsync(string userId)
    {
        await using var scope = TestHost.Factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<DiscountsDbContext>();
        var user = await db.Users.SingleAsync(u => u.ExternalId == userId);
        var item = await db.Items.SingleAsync(i => i.ExternalId == "sku-000005");
        var campaign = await db.Campaigns.Where(c => c.BudgetCents - c.SpentCents > item.PriceCents).OrderBy(c => c.Id).FirstAsync();
        var now = DateTime.UtcNow;
        var offer = new Offer
        {
            ExternalId = $"off-{Guid.NewGuid():N}", UserId = user.Id, ItemId = item.Id, CampaignId = campaign.Id, Kind = OfferKind.PercentOff,
            DiscountPercent = 10, ListPriceCents = item.PriceCents, FinalPriceCents = item.PriceCents - (item.PriceCents / 10), Propensity = 1,
            Reason = "test", Status = OfferStatus.Quoted, CreatedAt = now, ExpiresAt = now.AddHours(1),
        };
        db.Offers.Add(offer);
        await db.SaveChangesAsync();
        return offer;
    }
}
