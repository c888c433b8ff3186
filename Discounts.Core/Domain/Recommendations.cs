using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Discounts.Core.Domain;

/// <summary>
/// One recommendation list as it was served. Clicks and purchases the shop posts back with its
/// <see cref="RecommendationId"/> are attributed to the item they name, if the list showed it.
/// </summary>
/// <remarks>
/// One row per list, with its items in one column, rather than one row per item: a busy shop serves thousands of
/// lists a second, and ten rows per list, each going into four indexes at random places, took a fifth of the server's
/// CPU. Ids are time-ordered, so the unique index on them only ever grows at its end.
/// </remarks>
public sealed class RecommendationList
{
    public long Id { get; set; }
    /// <summary>The opaque id of the list, returned to the shop as <c>recommendationId</c>.</summary>
    public required string RecommendationId { get; set; }
    public long UserId { get; set; }
    /// <summary>The scorer version that re-ranked the list ("none" while no scorer had loaded).</summary>
    public required string ModelVersion { get; set; }
    public string BlendVersion { get; set; } = "";
    /// <summary>How many items the list showed (impressions).</summary>
    public int ItemCount { get; set; }
    /// <summary>The items in list order, as <see cref="ShownItems"/> encodes them.</summary>
    public string Items { get; set; } = "[]";
    public DateTime CreatedAt { get; set; }
}

/// <summary>One item of a served list: the internal item id, its final score and the sources that proposed it, comma-separated.</summary>
public readonly record struct ShownItem(long ItemId, double Score, string Sources);

/// <summary>
/// The items of a served list as <see cref="RecommendationList.Items"/> stores them: a JSON array of
/// <c>{"itemId", "score", "sources"}</c> in list order, readable with SQLite's <c>json_each</c> or PostgreSQL's
/// <c>json_array_elements</c>. Encoded once per ranking, so every serving of a cached list stores the same text. It is
/// held as UTF-8, half the bytes of a string, because it lives as long as the cached list and is copied by each
/// collection that list survives; the writer decodes it only when it stores a serving.
/// </summary>
public sealed class ShownItems(int count, byte[] utf8)
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    public int Count { get; } = count;

    public string Json => Encoding.UTF8.GetString(utf8);

    public static ShownItems Of(IReadOnlyList<ShownItem> items)
    {
        var buffer = new ArrayBufferWriter<byte>(64 * items.Count + 2);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (var item in items)
            {
                writer.WriteStartObject();
                writer.WriteNumber("itemId", item.ItemId);
                writer.WriteNumber("score", item.Score);
                writer.WriteString("sources", item.Sources);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        return new ShownItems(items.Count, buffer.WrittenSpan.ToArray());
    }

    public static IReadOnlyList<ShownItem> Parse(string json) =>
        JsonSerializer.Deserialize<ShownItem[]>(json, Options) ?? [];
}

/// <summary>
/// Weights of the final blend (scorer and candidate sources), learned on a held-out time split for one scorer version.
/// The newest row for the serving scorer version is the one used.
/// </summary>
public sealed class RecommendationBlend
{
    public long Id { get; set; }
    public required string Version { get; set; }
    public required string ModelVersion { get; set; }
    /// <summary>Feature name to weight, plus the intercept, as JSON.</summary>
    public string WeightsJson { get; set; } = "{}";
    /// <summary>How the fit went: validation users, examples, positives, log loss, AUC, hit rates, as JSON.</summary>
    public string MetricsJson { get; set; } = "{}";
    public DateTime FittedAt { get; set; }
}

/// <summary>One list as it was served, stored as one <see cref="RecommendationList"/> row; each of its items is one impression.</summary>
public sealed record ServedList(string RecommendationId, long UserId, string ModelVersion, string BlendVersion, DateTime ShownAt, ShownItems Items);
