using Discounts.Core.Data;
using Discounts.Core.Demo;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Discounts.Core.Hosting;

/// <summary>
/// Before the host serves: create the data directory, migrate (SQLite: then WAL), and seed the demo shop if empty. On
/// PostgreSQL both happen under one advisory lock, so nodes starting together neither race nor seed twice.
/// </summary>
public sealed partial class DatabaseInitialiser(
    IServiceScopeFactory scopes,
    DataPaths paths,
    IOptions<DemoOptions> demo,
    TimeProvider clock,
    ILogger<DatabaseInitialiser> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        paths.EnsureCreated();
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<DiscountsDbContext>();
        var started = clock.GetTimestamp();
        await DatabaseSetup.MigrateAsync(db, cancellationToken, async () =>
        {
            LogMigrated(logger, db is PostgresDiscountsDbContext ? "PostgreSQL" : paths.Database, clock.GetElapsedTime(started).TotalMilliseconds);
            if (!demo.Value.Seed)
            {
                return;
            }

            started = clock.GetTimestamp();
            var rows = await DemoSeeder.SeedIfEmptyAsync(db, new DemoShopOptions(), clock.GetUtcNow().UtcDateTime, cancellationToken);
            if (rows > 0)
            {
                LogSeeded(logger, rows, clock.GetElapsedTime(started).TotalMilliseconds);
            }
        });
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Database {Database} migrated in {ElapsedMs:F0} ms")]
    private static partial void LogMigrated(ILogger logger, string database, double elapsedMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "Seeded the demo shop: {Rows} rows in {ElapsedMs:F0} ms")]
    private static partial void LogSeeded(ILogger logger, int rows, double elapsedMs);
}
