using Discounts.Core.Data;
using Discounts.Core.Demo;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection.Extensions;
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
        services.AddOptions<StorageOptions>().Bind(configuration.GetSection(StorageOptions.Section))
            .Configure(options => options.ConnectionString ??= configuration.GetConnectionString(StorageOptions.ConnectionStringName))
            .ValidateDataAnnotations()
            .Validate(options => options.Provider != StorageProvider.Postgres || !string.IsNullOrWhiteSpace(options.ConnectionString),
                "Storage:Provider=Postgres needs ConnectionStrings:Discounts.")
            .ValidateOnStart();
        services.AddOptions<DemoOptions>().Bind(configuration.GetSection(DemoOptions.Section)).ValidateOnStart();
        services.AddSingleton(sp =>
        {
            var storage = sp.GetRequiredService<IOptions<StorageOptions>>().Value;
            return new DataPaths(storage.DataDirectory, storage.ArtifactDirectory);
        });
        services.AddDbContext<DiscountsDbContext>((sp, options) => options.UseDiscountsSqlite(sp.GetRequiredService<DataPaths>()));
        services.AddDbContext<PostgresDiscountsDbContext>((sp, options) =>
            options.UseDiscountsPostgres(sp.GetRequiredService<IOptions<StorageOptions>>().Value.ConnectionString ?? ""));
        // The provider is chosen when the first context is made, not at registration: configuration that a test host
        // adds late still counts. Everything asks for DiscountsDbContext and gets the provider's subclass.
        services.Replace(ServiceDescriptor.Scoped<DiscountsDbContext>(sp =>
            sp.GetRequiredService<IOptions<StorageOptions>>().Value.Provider == StorageProvider.Postgres
                ? sp.GetRequiredService<PostgresDiscountsDbContext>()
                : new DiscountsDbContext(sp.GetRequiredService<DbContextOptions<DiscountsDbContext>>())));
        services.AddHostedService<DatabaseInitialiser>();
        return services;
    }
}

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
