using Discounts.Core.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Discounts.Web.Infrastructure;

/// <summary>Ready only when the database answers and has no pending migration.</summary>
public sealed class DatabaseMigratedHealthCheck(DiscountsDbContext db) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!await db.Database.CanConnectAsync(cancellationToken))
        {
            return HealthCheckResult.Unhealthy("The database cannot be reached.");
        }

        var pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken)).ToList();
        return pending.Count == 0
            ? HealthCheckResult.Healthy("The database is migrated.")
            : HealthCheckResult.Unhealthy($"{pending.Count} migration(s) pending.");
    }
}

public static class HealthSetup
{
    public const string ReadyTag = "ready";

    public static IServiceCollection AddDiscountsHealth(this IServiceCollection services)
    {
        services.AddHealthChecks().AddCheck<DatabaseMigratedHealthCheck>("database", tags: [ReadyTag]);
        return services;
    }

    public static void MapDiscountsHealth(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapHealthChecks("/health/live", new() { Predicate = _ => false }).AllowAnonymous();
        endpoints.MapHealthChecks("/health/ready", new() { Predicate = check => check.Tags.Contains(ReadyTag) }).AllowAnonymous();
    }
}
