using Discounts.Core.Data;
using Discounts.Core.Domain;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace Discounts.Tests.Core;

/// <summary>
/// The migration from one impression row per shown item to one row per served list keeps every impression a shop
/// had stored, in list order, on both providers; and going back restores the per-item rows.
/// </summary>
public sealed class RecommendationListsMigrationTests
{
    private const string Before = "OfferScorerProbability";
    private const string After = "RecommendationLists";

    [Test]
    public async Task Migrate_WhenImpressionRowsExistOnSqlite_FoldsThemIntoListsAndBack()
    {
        var directory = Directory.CreateTempSubdirectory("discounts-migration-").FullName;
        try
        {
            await using var db = new DiscountsDbContext(new DbContextOptionsBuilder<DiscountsDbContext>().UseDiscountsSqlite(new DataPaths(directory)).Options);
            await FoldAndUnfoldAsync(db);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    [Test]
    [Category("Postgres")]
    public async Task Migrate_WhenImpressionRowsExistOnPostgres_FoldsThemIntoListsAndBack()
    {
        var connectionString = PostgresTestDatabase.Create("discounts_migration");
        try
        {
            await using var db = new PostgresDiscountsDbContext(
                new DbContextOptionsBuilder<PostgresDiscountsDbContext>().UseDiscountsPostgres(connectionString).Options);
            await FoldAndUnfoldAsync(db);
        }
        finally
        {
            PostgresTestDatabase.Drop(connectionString);
        }
    }

    private static async Task FoldAndUnfoldAsync(DiscountsDbContext db)
    {
        var migrator = db.GetService<IMigrator>();
        await migrator.MigrateAsync(Full(db, Before));
        var now = new DateTime(2026, 11, 20, 8, 30, 0, DateTimeKind.Utc);
        var (alice, bob) = (new User { ExternalId = "alice", CreatedAt = now }, new User { ExternalId = "bob", CreatedAt = now });
        var items = Enumerable.Range(1, 3).Select(i => new Item
        {
            ExternalId = $"sku-{i}", Title = $"thing {i}", Category = "books", PriceCents = 1000, CostCents = 500, CreatedAt = now, UpdatedAt = now,
        }).ToList();
        db.Users.AddRange(alice, bob);
        db.Items.AddRange(items);
        await db.SaveChangesAsync();

        // Alice's list showed items 3, 1, 2 (inserted out of position order on purpose); Bob's showed item 2 alone.
        (string List, long User, long Item, int Position, double Score, string Sources)[] rows =
        [
            ("rec_alice", alice.Id, items[0].Id, 1, 0.5, "popular"),
            ("rec_alice", alice.Id, items[2].Id, 0, 0.75, "content,scorer"),
            ("rec_bob", bob.Id, items[1].Id, 0, 0.25, "new"),
            ("rec_alice", alice.Id, items[1].Id, 2, 0.125, "co-occurrence"),
        ];
        foreach (var row in rows)
        {
            await db.Database.ExecuteSqlAsync(
                $"""INSERT INTO "RecommendationImpressions" ("RecommendationId", "UserId", "ItemId", "Position", "Score", "Sources", "ModelVersion", "BlendVersion", "CreatedAt") VALUES ({row.List}, {row.User}, {row.Item}, {row.Position}, {row.Score}, {row.Sources}, {"v7"}, {"blend-3"}, {now})""");
        }

        await migrator.MigrateAsync(Full(db, After));
        var lists = await db.RecommendationLists.AsNoTracking().OrderBy(l => l.RecommendationId).ToListAsync();

        Assert.Multiple(() =>
        {
            Assert.That(lists.Select(l => (l.RecommendationId, l.UserId, l.ItemCount, l.ModelVersion, l.BlendVersion, l.CreatedAt)), Is.EqualTo(new[]
            {
                ("rec_alice", alice.Id, 3, "v7", "blend-3", now),
                ("rec_bob", bob.Id, 1, "v7", "blend-3", now),
            }));
            Assert.That(ShownItems.Parse(lists[0].Items), Is.EqualTo(new[]
            {
                new ShownItem(items[2].Id, 0.75, "content,scorer"), new ShownItem(items[0].Id, 0.5, "popular"), new ShownItem(items[1].Id, 0.125, "co-occurrence"),
            }));
            Assert.That(ShownItems.Parse(lists[1].Items), Is.EqualTo(new[] { new ShownItem(items[1].Id, 0.25, "new") }));
        });

        await migrator.MigrateAsync(Full(db, Before));
        var restored = await db.Database.SqlQuery<string>(
                $"""SELECT "RecommendationId" || ':' || CAST("ItemId" AS TEXT) || ':' || CAST("Position" AS TEXT) || ':' || "Sources" AS "Value" FROM "RecommendationImpressions" """)
            .ToListAsync();
        Assert.That(restored, Is.EquivalentTo(rows.Select(r => $"{r.List}:{r.Item}:{r.Position}:{r.Sources}")));
    }

    /// <summary>Migration ids carry their timestamp, which differs between the two providers' folders.</summary>
    private static string Full(DiscountsDbContext db, string name) =>
        db.Database.GetMigrations().Single(m => m.EndsWith("_" + name, StringComparison.Ordinal));
}
