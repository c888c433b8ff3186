using Discounts.Core.Domain;
using Discounts.Core.Serving;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Discounts.Tests.Web;

/// <summary>The batched writer behind recommendation impressions, on whichever database the run uses.</summary>
public sealed class ImpressionLogTests
{
    private static ImpressionLog Log => TestHost.Factory.Services.GetRequiredService<ImpressionLog>();

    [Test]
    public async Task Flush_WhenABatchHoldsAUserWhoNoLongerExists_WritesEveryOtherRowExactlyAndSkipsThatOne()
    {
        var (userId, itemIds) = await TestHost.ReadAsync(async db => (
            await db.Users.Where(u => u.ExternalId == "user-00007").Select(u => u.Id).SingleAsync(),
            await db.Items.OrderBy(i => i.Id).Select(i => i.Id).Take(3).ToListAsync()));
        var missingUser = await TestHost.ReadAsync(db => db.Users.MaxAsync(u => u.Id)) + 1_000_000;
        var listId = "rec_test_" + Guid.NewGuid().ToString("N");
        var ghostListId = "rec_ghost_" + Guid.NewGuid().ToString("N");
        var shownAt = new DateTime(2026, 11, 28, 12, 34, 56, DateTimeKind.Utc).AddTicks(1234567);
        var items = itemIds.Select((item, position) => new ShownItem(item, 0.123456789 * (position + 1), "content,scorer")).ToList();
        var served = new ServedList(listId, userId, "test-model", "test-blend", shownAt, ShownItems.Of(items));
        var ghost = new ServedList(ghostListId, missingUser, "test-model", "test-blend", shownAt, ShownItems.Of([new ShownItem(itemIds[0], 1, "popular")]));

        Log.Add(ghost);
        Log.Add(served);
        await Log.FlushAsync(CancellationToken.None);

        var stored = await TestHost.ReadAsync(db => db.RecommendationLists.AsNoTracking()
            .Where(l => l.RecommendationId == listId || l.RecommendationId == ghostListId).ToListAsync());
        Assert.Multiple(() =>
        {
            Assert.That(stored.Select(l => l.RecommendationId), Is.EqualTo(new[] { listId }), "the erased user's list is skipped");
            Assert.That(stored.Select(l => (l.UserId, l.ItemCount, l.ModelVersion, l.BlendVersion)), Is.EqualTo(new[] { (userId, 3, "test-model", "test-blend") }));
            Assert.That(ShownItems.Parse(stored[0].Items), Is.EqualTo(items), "items in list order, scores to the last bit");
            // PostgreSQL keeps microseconds, SQLite the full tick.
            Assert.That(stored[0].CreatedAt, Is.EqualTo(shownAt).Within(TimeSpan.FromMicroseconds(1)));
            Assert.That(stored[0].CreatedAt.Kind, Is.EqualTo(DateTimeKind.Utc));
        });
    }

    [Test]
    public async Task Flush_WhenManyListsAreQueued_WritesThemAllInOneFlush()
    {
        var (userId, itemIds) = await TestHost.ReadAsync(async db => (
            await db.Users.Where(u => u.ExternalId == "user-00008").Select(u => u.Id).SingleAsync(),
            await db.Items.OrderBy(i => i.Id).Select(i => i.Id).Take(10).ToListAsync()));
        var prefix = "rec_bulk_" + Guid.NewGuid().ToString("N")[..12] + "_";
        const int lists = 700;
        var items = ShownItems.Of(itemIds.Select((item, position) => new ShownItem(item, position, "popular")).ToArray());
        for (var list = 0; list < lists; list++)
        {
            Log.Add(new ServedList(prefix + list, userId, "bulk-model", "bulk-blend", DateTime.UtcNow, items));
        }

        await Log.FlushAsync(CancellationToken.None);

        var stored = await TestHost.ReadAsync(async db => (
            await db.RecommendationLists.CountAsync(l => l.RecommendationId.StartsWith(prefix)),
            await db.RecommendationLists.Where(l => l.RecommendationId.StartsWith(prefix)).SumAsync(l => l.ItemCount)));
        Assert.That(stored, Is.EqualTo((lists, lists * itemIds.Count)));
    }
}
