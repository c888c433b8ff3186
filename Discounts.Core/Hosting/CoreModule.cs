using Discounts.Core.Data;
using Discounts.Core.Demo;
using Discounts.Core.Discounting;
using Discounts.Core.Profiling;
using Discounts.Core.Recommending;
using Discounts.Core.Serving;
using Discounts.Core.Telemetry;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Discounts.Core.Hosting;

/// <summary>Core's services: storage, options, profiling and the recommendation serving state.</summary>
public static class CoreModule
{
    /// <summary>
    /// Everything Core runs in a host. The host supplies <see cref="IBlendFitQueue"/> (Core does not know the job
    /// server) and <see cref="Scoring.IScorer"/> (Core does not know torch).
    /// </summary>
    public static IServiceCollection AddDiscountsCore(this IServiceCollection services, IConfiguration configuration)
    {
        services.TryAddSingleton(TimeProvider.System);
        // The host supplies IMeterFactory, as both the web host and the CLI verbs' generic host do.
        services.TryAddSingleton<DiscountsMetrics>();
        services.AddDiscountsStorage(configuration);

        services.AddOptions<DiscountingOptions>().Bind(configuration.GetSection(DiscountingOptions.Section)).ValidateDataAnnotations().ValidateOnStart();

        services.AddOptions<ProfilingOptions>().Bind(configuration.GetSection(ProfilingOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(sp => new TextModelStore(sp.GetRequiredService<DataPaths>()));
        services.AddScoped(sp => new ProfileBuilder(
            sp.GetRequiredService<DiscountsDbContext>(),
            sp.GetRequiredService<TextModelStore>(),
            sp.GetRequiredService<IOptions<ProfilingOptions>>().Value,
            sp.GetRequiredService<TimeProvider>()));

        services.AddOptions<RecommendationOptions>().Bind(configuration.GetSection(RecommendationOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<RecommendationService>();
        services.AddSingleton<IRecommendationService>(sp => sp.GetRequiredService<RecommendationService>());
        services.AddSingleton<RecommendationCache>();
        services.AddSingleton<RankingReads>();
        services.AddSingleton<QuoteReads>();
        services.AddSingleton<UserHistoryCache>();
        services.AddSingleton<OfferLog>();
        services.AddSingleton<UserQuoteLocks>();
        services.AddSingleton<ImpressionLog>();
        services.AddHostedService(sp => sp.GetRequiredService<ImpressionLog>());
        // After the database initialiser (registered above), so the schema exists and the demo shop is seeded.
        services.AddHostedService<RecommendationRefresher>();
        return services;
    }

    /// <summary>The database (SQLite or PostgreSQL by <c>Storage:Provider</c>), its data directory, and the migration and demo seed before the host serves.</summary>
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
