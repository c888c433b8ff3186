using System.Diagnostics.Metrics;
using OpenTelemetry.Metrics;

namespace Discounts.Web.Infrastructure;

/// <summary>The service's own meter; slices add their counters here.</summary>
public sealed class DiscountsMetrics
{
    public const string MeterName = "Discounts";

    public DiscountsMetrics(IMeterFactory meterFactory)
    {
        Meter = meterFactory.Create(MeterName);
    }

    public Meter Meter { get; }
}

public static class TelemetrySetup
{
    public static IServiceCollection AddDiscountsTelemetry(this IServiceCollection services)
    {
        services.AddSingleton<DiscountsMetrics>();
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddAspNetCoreInstrumentation()
            .AddMeter(DiscountsMetrics.MeterName)
            .AddPrometheusExporter());
        return services;
    }

    /// <summary>Prometheus text at /metrics, for Analyst and above like any other read.</summary>
    public static void MapDiscountsMetrics(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapPrometheusScrapingEndpoint("/metrics").RequireAuthorization(Policies.Read);
}
