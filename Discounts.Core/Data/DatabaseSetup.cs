using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Discounts.Core.Data;

public static class DatabaseSetup
{
    public static TBuilder UseDiscountsSqlite<TBuilder>(this TBuilder builder, DataPaths paths)
        where TBuilder : DbContextOptionsBuilder
    {
        builder.UseSqlite(paths.DatabaseConnectionString,
            sqlite => sqlite.MigrationsAssembly(typeof(DiscountsDbContext).Assembly.FullName));
        return builder;
    }

    /// <summary>Applies pending migrations and switches the file to WAL, which persists in the database file.</summary>
    public static async Task MigrateAsync(DiscountsDbContext db, CancellationToken cancellationToken)
    {
        await db.Database.MigrateAsync(cancellationToken);
        await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
    }
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
