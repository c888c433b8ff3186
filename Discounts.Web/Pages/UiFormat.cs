using System.Globalization;
using System.Text.Json;
using Discounts.Web.Infrastructure;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Discounts.Web.Pages;

/// <summary>What every UI page knows about its viewer.</summary>
public abstract class UiPageModel : PageModel
{
    /// <summary>Only these roles see, and may use, the buttons that act (start, cancel, activate, roll back).</summary>
    public bool CanAct => Policies.Roles[Policies.Science].Any(role => User.IsInRole(role.ToString()));
}

/// <summary>Display formatting for the UI: invariant culture, UTC, short units.</summary>
public static class UiFormat
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static string Time(DateTime? at) => at is { } value ? value.ToString("yyyy-MM-dd HH:mm:ss", Invariant) + " UTC" : "–";

    public static string Duration(DateTime? start, DateTime? end, DateTime now) =>
        start is { } s ? Seconds(((end ?? now) - s).TotalSeconds) : "–";

    public static string Seconds(double? seconds)
    {
        if (seconds is not { } value || double.IsNaN(value)) return "–";
        var span = TimeSpan.FromSeconds(Math.Max(0, Math.Round(value)));
        return span.TotalHours >= 1 ? $"{(int)span.TotalHours} h {span.Minutes} min"
            : span.TotalMinutes >= 1 ? $"{span.Minutes} min {span.Seconds} s"
            : $"{span.Seconds} s";
    }

    public static string Number(double? value, int decimals = 4) =>
        value is { } v ? Math.Round(v, decimals).ToString("0.####", Invariant) : "–";

    public static string Count(long value) => value.ToString("N0", Invariant);

    public static string Cents(long cents) => (cents / 100m).ToString("N2", Invariant);

    public static string Lower(Enum value) => value.ToString().ToLowerInvariant();

    /// <summary>A JSON object flattened to dotted keys and display values, for hyperparameter and snapshot tables.</summary>
    public static IEnumerable<KeyValuePair<string, string>> Flatten(JsonElement element, string prefix = "")
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            yield return new(prefix.Length == 0 ? "value" : prefix, Scalar(element));
            yield break;
        }

        foreach (var property in element.EnumerateObject())
        {
            var key = prefix.Length == 0 ? property.Name : $"{prefix}.{property.Name}";
            if (property.Value.ValueKind == JsonValueKind.Object)
            {
                foreach (var nested in Flatten(property.Value, key)) yield return nested;
            }
            else
            {
                yield return new(key, Scalar(property.Value));
            }
        }
    }

    public static double? Metric(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetDouble() : null;

    private static string Scalar(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString() ?? "",
        // G6 keeps small values such as a learning rate of 3e-5 readable instead of rounding them to 0.
        JsonValueKind.Number => value.TryGetInt64(out var whole) ? whole.ToString("N0", Invariant) : value.GetDouble().ToString("G6", Invariant),
        JsonValueKind.True => "yes",
        JsonValueKind.False => "no",
        JsonValueKind.Null or JsonValueKind.Undefined => "–",
        JsonValueKind.Array => string.Join(", ", value.EnumerateArray().Select(Scalar)),
        _ => value.GetRawText(),
    };

    /// <summary>The scorer metrics every model and run reports, in display order.</summary>
    public static readonly (string Key, string Label)[] ScorerMetrics =
        [("auc", "AUC"), ("logLoss", "log loss"), ("hitRate10", "HR@10"), ("ndcg10", "NDCG@10")];
}
