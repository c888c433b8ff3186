using Discounts.Core.Data;
using Microsoft.EntityFrameworkCore;

namespace Discounts.Core.Demo;

public static class DemoSeeder
{
    /// <summary>
    /// Writes the demo shop when the database holds no items and no users, so a real shop's data is never mixed with it.
    /// Returns the number of rows written, 0 when the database was not empty.
    /// </summary>
    public static async Task<int> SeedIfEmptyAsync(DiscountsDbContext db, DemoShopOptions options, DateTime nowUtc, CancellationToken cancellationToken)
    {
        if (await db.Items.AnyAsync(cancellationToken) || await db.Users.AnyAsync(cancellationToken))
        {
            return 0;
        }

        // Anchored at the start of the day so that two starts on the same day produce the same shop.
        var shop = DemoShopGenerator.Generate(options, nowUtc.Date);
        var previousDetectChanges = db.ChangeTracker.AutoDetectChangesEnabled;
        db.ChangeTracker.AutoDetectChangesEnabled = false;
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        try
        {
            var written = 0;
            written += await InsertAsync(db, [shop.Campaign], cancellationToken);
            written += await InsertAsync(db, shop.Items, cancellationToken);
            written += await InsertAsync(db, shop.Users, cancellationToken);
            written += await InsertAsync(db, shop.Offers, cancellationToken);
            written += await InsertAsync(db, shop.Events, cancellationToken);
            written += await InsertAsync(db, shop.Texts, cancellationToken);
            await DatabaseSetup.SyncIdentitySequencesAsync(db, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return written;
        }
        finally
        {
            db.ChangeTracker.AutoDetectChangesEnabled = previousDetectChanges;
        }
    }

    private static async Task<int> InsertAsync<T>(DiscountsDbContext db, IReadOnlyList<T> rows, CancellationToken cancellationToken)
        where T : class
    {
        foreach (var chunk in rows.Chunk(5_000))
        {
            db.Set<T>().AddRange(chunk);
            await db.SaveChangesAsync(cancellationToken);
            db.ChangeTracker.Clear();
        }

        return rows.Count;
    }
}
