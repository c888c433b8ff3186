using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Discounts.Core.Data;

public static class DatabaseSetup
{
    /// <summary>Any fixed number: the PostgreSQL advisory lock that lets one node at a time migrate and seed.</summary>
    private const long InitialisationLockKey = 0x0D15C0_0001;

    public static TBuilder UseDiscountsSqlite<TBuilder>(this TBuilder builder, DataPaths paths)
        where TBuilder : DbContextOptionsBuilder
    {
        builder.UseSqlite(paths.DatabaseConnectionString,
            sqlite => sqlite.MigrationsAssembly(typeof(DiscountsDbContext).Assembly.FullName));
        return builder;
    }

    public static TBuilder UseDiscountsPostgres<TBuilder>(this TBuilder builder, string connectionString)
        where TBuilder : DbContextOptionsBuilder
    {
        builder.UseNpgsql(connectionString,
            npgsql => npgsql.MigrationsAssembly(typeof(DiscountsDbContext).Assembly.FullName));
        return builder;
    }

    /// <summary>
    /// Serialises the callers that pass the same (<paramref name="scope"/>, <paramref name="key"/>) until the current
    /// transaction ends. SQLite transactions already serialise writers, so there it does nothing; PostgreSQL's READ
    /// COMMITTED would let two nodes both pass a check-then-insert, so there it takes a transaction advisory lock.
    /// </summary>
    public static async Task LockForTransactionAsync(this DiscountsDbContext db, LockScope scope, long key, CancellationToken cancellationToken)
    {
        if (db is PostgresDiscountsDbContext)
        {
            var folded = unchecked((int)(key ^ (key >> 32)));
            await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock({(int)scope}, {folded})", cancellationToken);
        }
    }

    /// <summary>
    /// After rows were written with explicit ids (the demo shop): moves each PostgreSQL identity sequence past the
    /// highest id, or the next insert would collide with them. SQLite picks max(id) + 1 itself.
    /// </summary>
    public static async Task SyncIdentitySequencesAsync(DiscountsDbContext db, CancellationToken cancellationToken)
    {
        if (db is not PostgresDiscountsDbContext) return;
        foreach (var entity in db.Model.GetEntityTypes())
        {
            var key = entity.FindPrimaryKey();
            var table = entity.GetTableName();
            if (table is null || key is not { Properties: [var id] } || id.ValueGenerated != Microsoft.EntityFrameworkCore.Metadata.ValueGenerated.OnAdd
                || (id.ClrType != typeof(long) && id.ClrType != typeof(int)))
                continue;
            // Names come from the model, never from input.
            var column = id.GetColumnName();
            var sql = "SELECT setval(pg_get_serial_sequence('\"" + table + "\"', '" + column + "'), COALESCE(MAX(\"" + column + "\"), 0) + 1, false) FROM \"" + table + "\"";
            await db.Database.ExecuteSqlRawAsync(sql, cancellationToken);
        }
    }

    /// <summary>
    /// Applies pending migrations. On SQLite it then switches the file to WAL, which persists in the database file.
    /// On PostgreSQL the context's connection holds an advisory lock throughout, and <paramref name="afterMigration"/>
    /// runs under it too, so nodes starting together migrate and seed one after the other.
    /// </summary>
    public static async Task MigrateAsync(DiscountsDbContext db, CancellationToken cancellationToken, Func<Task>? afterMigration = null)
    {
        if (db is not PostgresDiscountsDbContext)
        {
            await db.Database.MigrateAsync(cancellationToken);
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
            if (afterMigration is not null) await afterMigration();
            return;
        }

        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            // Another node may hold the lock for as long as it takes to seed a shop: wait past the usual command timeout.
            var timeout = db.Database.GetCommandTimeout();
            db.Database.SetCommandTimeout(TimeSpan.FromMinutes(30));
            await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_lock({InitialisationLockKey})", cancellationToken);
            db.Database.SetCommandTimeout(timeout);
            try
            {
                await db.Database.MigrateAsync(cancellationToken);
                if (afterMigration is not null) await afterMigration();
            }
            finally
            {
                await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_unlock({InitialisationLockKey})", CancellationToken.None);
            }
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }
}

/// <summary>What a transaction lock protects; the numbers are part of the lock key, so never reuse one.</summary>
public enum LockScope
{
    TrainingRunStart = 1,
    UserRedemptions = 2,
}

/// <summary>The same model on PostgreSQL, with its own migrations (Data/Migrations/Postgres).</summary>
public sealed class PostgresDiscountsDbContext(DbContextOptions<PostgresDiscountsDbContext> options) : DiscountsDbContext(options)
{
    protected override string BinaryCollation => "C";

    protected override string Column(string name) => $"\"{name}\"";
}

/// <summary>Lets `dotnet ef migrations add` build the context without starting the web host.</summary>
public sealed class DesignTimeDbContextFactory : IDesignTimeDbContextFactory<DiscountsDbContext>
{
    public DiscountsDbContext CreateDbContext(string[] args)
    {
        var options = new DbContextOptionsBuilder<DiscountsDbContext>()
            .UseDiscountsSqlite(new DataPaths(Path.Combine(Path.GetTempPath(), "discounts-design")))
            .Options;
        return new DiscountsDbContext(options);
    }
}

/// <summary>The PostgreSQL context for `dotnet ef migrations add --context PostgresDiscountsDbContext`; it never connects.</summary>
public sealed class PostgresDesignTimeDbContextFactory : IDesignTimeDbContextFactory<PostgresDiscountsDbContext>
{
    public PostgresDiscountsDbContext CreateDbContext(string[] args)
    {
        var options = new DbContextOptionsBuilder<PostgresDiscountsDbContext>()
            .UseDiscountsPostgres("Host=localhost;Database=discounts_design")
            .Options;
        return new PostgresDiscountsDbContext(options);
    }
}
