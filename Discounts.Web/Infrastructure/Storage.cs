using Discounts.Core.Data;
using Discounts.Core.Demo;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Discounts.Web.Infrastructure;

public sealed class DemoOptions
{
    public const string Section = "Demo";

    /// <summary>Seed the demo shop on first start when the database is empty.</summary>
    public bool Seed { get; set; } = true;
}

public static class StorageSetup
{
    public static IServiceCollection AddDiscountsStorage(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<StorageOptions>().Bind(configuration.GetSection(StorageOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<DemoOptions>().Bind(configuration.GetSection(DemoOptions.Section)).ValidateOnStart();
        services.AddSingleton(sp => new DataPaths(sp.GetRequiredService<IOptions<StorageOptions>>().Value.DataDirectory));
        services.AddDbContext<DiscountsDbContext>((sp, options) => options.UseDiscountsSqlite(sp.GetRequiredService<DataPaths>()));
        services.AddHostedService<DatabaseInitialiser>();
        return services;
    }
}

/// <summary>Before the host serves: create the data directory, migrate, switch to WAL, and seed the demo shop if empty.</summary>
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
        await DatabaseSetup.MigrateAsync(db, cancellationToken);
        LogMigrated(logger, paths.Database, clock.GetElapsedTime(started).TotalMilliseconds);
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
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Database {Path} migrated in {ElapsedMs:F0} ms")]
    private static partial void LogMigrated(ILogger logger, string path, double elapsedMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "Seeded the demo shop: {Rows} rows in {ElapsedMs:F0} ms")]
    private static partial void LogSeeded(ILogger logger, int rows, double elapsedMs);
}
