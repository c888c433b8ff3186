using System.IO.Compression;
using System.Text.Json;

namespace Discounts.Core.Evaluation;

public sealed record AmazonReview(string ReviewerId, string Asin, double Rating, DateTime ReviewedAt, string Text);

/// <summary>
/// Reads the Amazon Review Data 2018 JSON lines (gzip) used for evaluation. The 5-core files repeat some
/// (reviewer, item) pairs, so only the first review of each pair is kept.
/// </summary>
public static class AmazonReviews
{
    public static List<AmazonReview> ReadDeduplicated(string gzipPath)
    {
        var seen = new HashSet<(string, string)>();
        var reviews = new List<AmazonReview>();
        using var stream = new GZipStream(File.OpenRead(gzipPath), CompressionMode.Decompress);
        using var reader = new StreamReader(stream);
        while (reader.ReadLine() is { } line)
        {
            using var json = JsonDocument.Parse(line);
            var root = json.RootElement;
            var reviewer = root.GetProperty("reviewerID").GetString()!;
            var asin = root.GetProperty("asin").GetString()!;
            if (!seen.Add((reviewer, asin)))
            {
                continue;
            }

            var summary = root.TryGetProperty("summary", out var s) ? s.GetString() : null;
            var body = root.TryGetProperty("reviewText", out var t) ? t.GetString() : null;
            reviews.Add(new AmazonReview(
                reviewer,
                asin,
                root.TryGetProperty("overall", out var o) ? o.GetDouble() : 0,
                DateTimeOffset.FromUnixTimeSeconds(root.GetProperty("unixReviewTime").GetInt64()).UtcDateTime,
                $"{summary}. {body}"));
        }

        return reviews;
    }
}
