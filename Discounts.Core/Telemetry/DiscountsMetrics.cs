using System.Diagnostics.Metrics;

namespace Discounts.Core.Telemetry;

/// <summary>The service's own meter; services and slices add their counters here.</summary>
public sealed class DiscountsMetrics(IMeterFactory meterFactory)
{
    public const string MeterName = "Discounts";

    public Meter Meter { get; } = meterFactory.Create(MeterName);
}
