using Discounts.Core.Data;
using Discounts.Core.Discounting;
using Discounts.Core.Domain;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Discounts.Tests.Web;

/// <summary>The quote path's prepared reads against what EF reads of the same rows, on whichever database the test host runs.</summary>
public sealed class QuoteReadsTests
{
    [Test]
    public async Task UserAsync_WhenDemoUserHasHistory_ReadsWhatEfReads()
    {
        await using var scope = TestHost.Factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<DiscountsDbContext>();
        var reads = scope.ServiceProvider.GetRequiredService<QuoteReads>();
        var dayStart = DateTime.UtcNow.Date.AddDays(-400);
        var expected = await db.Users.AsNoTracking().Where(u => u.ExternalId == "user-00031").Select(u => new
        {
            u.Id, u.ConsentPersonalisation,
            Profile = db.Profiles.Where(p => p.UserId == u.Id).Select(p => new { p.Version, p.ProfileText }).FirstOrDefault(),
            Discounts = db.Offers.Count(o => o.UserId == u.Id && o.DiscountPercent > 0 && o.CreatedAt >= dayStart),
            Events = db.Events.Count(e => e.UserId == u.Id),
            LastEvent = db.Events.Where(e => e.UserId == u.Id).Max(e => (long?)e.Id),
            Texts = db.UserTexts.Count(t => t.UserId == u.Id),
            LastText = db.UserTexts.Where(t => t.UserId == u.Id).Max(t => (long?)t.Id),
        }).SingleAsync();

        var user = await reads.UserAsync("user-00031", dayStart, CancellationToken.None);
        var unknown = await reads.UserAsync("user-nobody", dayStart, CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(user, Is.Not.Null);
            Assert.That(user!.Id, Is.EqualTo(expected.Id));
            Assert.That(user.ConsentsToPersonalisation, Is.EqualTo(expected.ConsentPersonalisation));
            Assert.That(user.ProfileVersion, Is.EqualTo(expected.Profile?.Version));
            Assert.That(user.ProfileText, Is.EqualTo(expected.Profile?.ProfileText ?? ""));
            Assert.That(user.DiscountsToday, Is.EqualTo(expected.Discounts).And.GreaterThan(0), "the demo log has discounted offers in the last 400 days");
            Assert.That(user.History, Is.EqualTo(new HistoryStamp(expected.Events, expected.LastEvent, expected.Texts, expected.LastText)));
            Assert.That(expected.Events, Is.GreaterThan(0));
            Assert.That(unknown, Is.Null);
        });
    }

    [Test]
    public async Task ItemsAndActiveCampaign_WhenSomeIdsAreUnknown_ReadOnlyWhatExistsAndIsActive()
    {
        await using var scope = TestHost.Factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<DiscountsDbContext>();
        var reads = scope.ServiceProvider.GetRequiredService<QuoteReads>();
        var now = DateTime.UtcNow;
        var item = await db.Items.AsNoTracking().SingleAsync(i => i.ExternalId == "sku-000007");
        var firstActive = await db.Campaigns.AsNoTracking().Where(c => c.IsActive && c.StartsAt <= now && (c.EndsAt == null || c.EndsAt > now))
            .OrderBy(c => c.Id).FirstAsync();

        var items = await reads.ItemsAsync(["sku-000007", "sku-unknown"], CancellationToken.None);
        var first = await reads.ActiveCampaignAsync(null, now, CancellationToken.None);
        var byId = await reads.ActiveCampaignAsync(firstActive.ExternalId, now, CancellationToken.None);
        var beforeItStarted = await reads.ActiveCampaignAsync(firstActive.ExternalId, firstActive.StartsAt.AddSeconds(-1), CancellationToken.None);
        var unknown = await reads.ActiveCampaignAsync("no-such-campaign", now, CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(items.Keys, Is.EquivalentTo(new[] { "sku-000007" }));
            Assert.That(items["sku-000007"], Is.EqualTo(new QuoteItem(item.Id, item.ExternalId, item.Category, item.PriceCents, item.CostCents)));
            Assert.That(first, Is.EqualTo(new QuoteCampaign(firstActive.Id, firstActive.ExternalId, firstActive.BudgetCents, firstActive.SpentCents)));
            Assert.That(byId, Is.EqualTo(first));
            Assert.That(beforeItStarted, Is.Null);
            Assert.That(unknown, Is.Null);
        });
    }

    [Test]
    public async Task UserHistoryCache_WhenTheUserActsAgain_LoadsTheNewHistoryOnceForTheNewStamp()
    {
        await using var scope = TestHost.Factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<DiscountsDbContext>();
        var reads = scope.ServiceProvider.GetRequiredService<QuoteReads>();
        var cache = scope.ServiceProvider.GetRequiredService<UserHistoryCache>();
        var before = (await reads.UserAsync("user-00033", DateTime.UtcNow.Date, CancellationToken.None))!;
        var first = await cache.GetAsync(before.Id, before.History, CancellationToken.None);
        var again = await cache.GetAsync(before.Id, before.History, CancellationToken.None);

        var item = await db.Items.AsNoTracking().FirstAsync();
        db.Events.Add(new InteractionEvent
        {
            UserId = before.Id, ItemId = item.Id, Kind = EventKind.View, PriceCents = item.PriceCents,
            IdempotencyKey = $"history-cache-{Guid.NewGuid():N}", OccurredAt = DateTime.UtcNow,
        });
        await db.SaveChangesAsync();
        var after = (await reads.UserAsync("user-00033", DateTime.UtcNow.Date, CancellationToken.None))!;
        var reloaded = await cache.GetAsync(after.Id, after.History, CancellationToken.None);
        var reloadedAgain = await cache.GetAsync(after.Id, after.History, CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(again, Is.SameAs(first), "an unchanged stamp is served from the cache");
            Assert.That(after.History, Is.Not.EqualTo(before.History));
            Assert.That(reloaded.Events, Has.Count.EqualTo(first.Events.Count + 1), "the new view is in the history read for the new stamp");
            Assert.That(reloadedAgain, Is.SameAs(reloaded));
        });
    }
}
