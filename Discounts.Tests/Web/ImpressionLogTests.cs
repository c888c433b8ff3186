using Discounts.Web.Features.Recommendations;
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
        var items = itemIds.Select((item, position) => new ServedItem(item, 0.123456789 * (position + 1), "content,scorer")).ToList();
        var served = new ServedList(listId, userId, "test-model", "test-blend", shownAt, items);
        var ghost = new ServedList(ghostListId, missingUser, "test-model", "test-blend", shownAt, [new ServedItem(itemIds[0], 1, "popular")]);

        Log.Add(ghost);
        Log.Add(served);
        await Log.FlushAsync(CancellationToken.None);

        var stored = await TestHost.ReadAsync(db => db.RecommendationImpressions.AsNoTracking()
            .Where(i => i.RecommendationId == listId || i.RecommendationId == ghostListId).OrderBy(i => i.Position).ToListAsync());
        Assert.Multiple(() =>
        {
            Assert.That(stored.Select(i => i.RecommendationId), Is.All.EqualTo(listId), "the erased user's row is skipped");
            Assert.That(stored.Select(i => (i.UserId, i.ItemId, i.Position, i.Score, i.Sources, i.ModelVersion, i.BlendVersion)),
                Is.EqualTo(items.Select((item, position) => (userId, item.ItemId, position, item.Score, item.Sources, "test-model", "test-blend"))));
            // PostgreSQL keeps microseconds, SQLite the full tick.
            Assert.That(stored.Select(i => i.CreatedAt), Is.All.EqualTo(shownAt).Within(TimeSpan.FromMicroseconds(1)));
            Assert.That(stored.Select(i => i.CreatedAt.Kind), Is.All.EqualTo(DateTimeKind.Utc));
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
        var items = itemIds.Select((item, position) => new ServedItem(item, position, "popular")).ToArray();
        for (var list = 0; list < lists; list++)
        {
            Log.Add(new ServedList(prefix + list, userId, "bulk-model", "bulk-blend", DateTime.UtcNow, items));
        }

        await Log.FlushAsync(CancellationToken.None);

        var stored = await TestHost.ReadAsync(db => db.RecommendationImpressions.CountAsync(i => i.RecommendationId.StartsWith(prefix)));
        Assert.That(stored, Is.EqualTo(lists * itemIds.Count));
    }
}
