using Discounts.Core.Telemetry;
using OpenTelemetry.Metrics;

namespace Discounts.Web.Infrastructure;

public static class TelemetrySetup
{
    public static IServiceCollection AddDiscountsTelemetry(this IServiceCollection services)
    {
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
