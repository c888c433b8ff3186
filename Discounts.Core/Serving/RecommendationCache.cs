using Discounts.Core.Domain;
using Discounts.Core.Recommending;
using Discounts.Core.Scoring;
using Discounts.Core.Telemetry;
using Microsoft.Extensions.Options;

namespace Discounts.Core.Serving;

/// <summary>
/// Everything a ranked list depends on. Profile version and the user's event count and newest event id are read from
/// the database on every request, so a purchase or a profile rebuild written through any node changes the stamp; the
/// count catches an event whose id was allocated before the newest one but committed after it was read (Postgres), and
/// the newest id catches a deletion followed by an insert. The index and scorer version are this node's own.
/// </summary>
/// <param name="ProfileVersion">The stored profile's version, null before the first build.</param>
/// <param name="Events">How many events of any kind the user has.</param>
/// <param name="LastEventId">The newest of them.</param>
/// <param name="Index">Compared by reference: a rebuilt index is a new object.</param>
/// <param name="Scorer">The scorer version serving on this node.</param>
/// <param name="BlendVersion">The blend weights in use.</param>
/// <param name="UserVector">
/// Whether the scorer's embedding of this profile was at hand. It is computed off the request, so the list ranked
/// before it arrived (without the nearest items and p(buy)) is replaced on the first request after it does.
/// </param>
public sealed record RankingStamp(int? ProfileVersion, long Events, long? LastEventId, CatalogueIndex Index, ScorerVersion? Scorer, string BlendVersion, bool UserVector);

/// <summary>
/// A ranked list as it was computed for <see cref="Stamp"/>: the response items (without discounts) and what each
/// serving stores as its impressions, both built once and shared by every serving. An array and one string, so a
/// cached list of 100 items is about 100 objects for the garbage collector to trace rather than 600.
/// </summary>
/// <param name="UserId">The user's internal id.</param>
public sealed record CachedRanking(
    long UserId, RankingStamp Stamp, string ModelVersion, string BlendVersion, IReadOnlyList<RecommendedItem> Items, ShownItems Shown);

/// <summary>
/// A bounded least-recently-used cache of ranked lists per (user, count). A lookup hits only when the stored stamp
/// equals the request's current one; a stale entry is dropped on sight. Only the ranking is cached: every response
/// still gets its own recommendation id, its impressions and (with discounts) fresh quotes.
/// </summary>
public sealed class RecommendationCache
{
    private readonly int capacity;
    private readonly Lock gate = new();
    private readonly Dictionary<(long UserId, int Count), LinkedListNode<(long UserId, int Count, CachedRanking Ranking)>> entries = new();
    private readonly LinkedList<(long UserId, int Count, CachedRanking Ranking)> recency = new();
    private readonly System.Diagnostics.Metrics.Counter<long> lookups;
    private long hits;
    private long misses;

    public RecommendationCache(IOptions<RecommendationOptions> options, DiscountsMetrics metrics)
    {
        capacity = options.Value.ResultCacheEntries;
        lookups = metrics.Meter.CreateCounter<long>("discounts.recommendations.cache.lookups", null, "Ranked-list cache lookups by result: hit, miss or stale");
    }

    public bool Enabled => capacity > 0;

    public long Hits => Interlocked.Read(ref hits);

    public long Misses => Interlocked.Read(ref misses);

    public int Count
    {
        get
        {
            lock (gate)
            {
                return entries.Count;
            }
        }
    }

    /// <summary>The list stored for the user and count if it was ranked under exactly <paramref name="stamp"/>.</summary>
    public CachedRanking? Get(long userId, int count, RankingStamp stamp)
    {
        if (!Enabled)
        {
            return null;
        }

        string result;
        CachedRanking? found = null;
        lock (gate)
        {
            if (!entries.TryGetValue((userId, count), out var node))
            {
                result = "miss";
            }
            else if (node.Value.Ranking.Stamp == stamp)
            {
                recency.Remove(node);
                recency.AddFirst(node);
                found = node.Value.Ranking;
                result = "hit";
            }
            else
            {
                recency.Remove(node);
                entries.Remove((userId, count));
                result = "stale";
            }
        }

        Interlocked.Increment(ref found is null ? ref misses : ref hits);
        lookups.Add(1, new KeyValuePair<string, object?>("result", result));
        return found;
    }

    public void Set(long userId, int count, CachedRanking ranking)
    {
        if (!Enabled)
        {
            return;
        }

        lock (gate)
        {
            if (entries.Remove((userId, count), out var existing))
            {
                recency.Remove(existing);
            }

            entries[(userId, count)] = recency.AddFirst((userId, count, ranking));
            while (entries.Count > capacity && recency.Last is { } oldest)
            {
                recency.RemoveLast();
                entries.Remove((oldest.Value.UserId, oldest.Value.Count));
            }
        }
    }

    public void Clear()
    {
        lock (gate)
        {
            entries.Clear();
            recency.Clear();
        }
    }
}
