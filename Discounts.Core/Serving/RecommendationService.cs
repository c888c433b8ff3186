using System.Collections.Concurrent;
using Discounts.Core.Data;
using Discounts.Core.Domain;
using Discounts.Core.Profiling;
using Discounts.Core.Recommending;
using Discounts.Core.Scoring;
using Discounts.Core.Telemetry;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Discounts.Core.Serving;

/// <summary>
/// The serving state of recommendations, shared by every request: the current <see cref="CatalogueIndex"/>, the blend
/// in use, the scorer's item matrix (per model version and catalogue) and users' profile embeddings and profile
/// candidates (per profile version, model version and catalogue). Each is replaced whole, so a request reads one
/// consistent set without locks. Rankings go through <see cref="RankingEngine"/>, the engine <c>evaluate-ranking</c>
/// replays.
/// </summary>
public sealed partial class RecommendationService(
    IServiceScopeFactory scopes, IScorer scorer, RankingReads reads, RecommendationCache cache, ImpressionLog impressions, IBlendFitQueue blendFits,
    IOptions<RecommendationOptions> options, TimeProvider clock, DiscountsMetrics metrics, ILogger<RecommendationService> logger)
    : IRecommendationService
{
    private readonly System.Diagnostics.Metrics.Histogram<double> phases = metrics.Meter.CreateHistogram<double>(
        "discounts.recommendations.phase.duration", "ms", "Time spent per request in each phase: load (or cached), candidates, scorer, rank, response (items and reasons), quotes");

    private static readonly EventKind[] InterestKinds = [EventKind.View, EventKind.Click, EventKind.Cart, EventKind.Purchase];

    private readonly System.Diagnostics.Metrics.Counter<long> profileLookups = metrics.Meter.CreateCounter<long>(
        "discounts.recommendations.profile_cache.lookups", null, "Profile candidate cache lookups of a ranking by result: hit (reused) or miss (profile read and searched)");

    private readonly SemaphoreSlim building = new(1, 1);
    private long profileHits;
    private long profileMisses;
    private readonly Lock matrixLock = new();
    private readonly ConcurrentDictionary<long, CachedUser> users = new();
    private const int UserVectorBatch = 16;
    private readonly System.Threading.Channels.Channel<QueuedUser> userVectorQueue = System.Threading.Channels.Channel.CreateBounded<QueuedUser>(
        new System.Threading.Channels.BoundedChannelOptions(10_000) { FullMode = System.Threading.Channels.BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly ConcurrentDictionary<long, byte> queuedUsers = new();
    private int embedderStarted;
    private CatalogueIndex? index;
    private DataStamp? stamp;
    private BlendModel? blend;
    private DateTime blendFittedAt;
    private MatrixForCatalogue? matrix;

    public CatalogueIndex? Index => Volatile.Read(ref index);

    /// <summary>Rankings that reused a user's profile candidates.</summary>
    public long ProfileHits => Interlocked.Read(ref profileHits);

    /// <summary>Rankings that read the profile and searched for its candidates.</summary>
    public long ProfileMisses => Interlocked.Read(ref profileMisses);

    public long RecordPhase(string phase, long since)
    {
        var now = System.Diagnostics.Stopwatch.GetTimestamp();
        phases.Record(System.Diagnostics.Stopwatch.GetElapsedTime(since, now).TotalMilliseconds, new KeyValuePair<string, object?>("phase", phase));
        return now;
    }

    public async Task<CachedRanking?> RankAsync(string userId, int count, CancellationToken cancellationToken)
    {
        var phase = System.Diagnostics.Stopwatch.GetTimestamp();
        // Stamps first: anything written after this read changes the next request's stamp, so a list computed
        // from newer data than its stamp is at worst recomputed once, never served stale.
        if (await reads.HeadAsync(userId, cancellationToken) is not { } user)
        {
            return null;
        }

        var index = await GetIndexAsync(cancellationToken);
        var version = scorer.ActiveVersion;
        var blendModel = BlendFor(version?.Name ?? "none");
        var stamp = new RankingStamp(
            user.ProfileVersion, user.Events, user.LastEventId, index, version, blendModel.Version, HasUserVector(user.Id, user.ProfileVersion, version, user.LastEventId));
        var ranking = cache.Get(user.Id, count, stamp);
        phase = RecordPhase(ranking is null ? "load" : "cached", phase);
        if (ranking is not null)
        {
            return ranking;
        }

        ranking = await RankAsync(user.Id, count, stamp, blendModel, phase, cancellationToken);
        // A scorer swapped mid-request leaves the list without p(buy); only a list ranked by the version in its stamp is kept.
        if (scorer.ActiveVersion == version)
        {
            cache.Set(user.Id, count, ranking);
        }

        return ranking;
    }

    /// <summary>The full computation: the user's profile and history, candidates, p(buy), the blend and diversity.</summary>
    private async Task<CachedRanking> RankAsync(long userId, int count, RankingStamp stamp, BlendModel blendModel, long phase, CancellationToken cancellationToken)
    {
        var index = stamp.Index;
        var version = stamp.Scorer;
        var events = await reads.HistoryAsync(userId, cancellationToken);
        var itemMatrix = Matrix(index);
        var profile = await ProfileCandidatesAsync(userId, stamp.ProfileVersion, stamp.LastEventId, index, itemMatrix, version, reads.ProfileAsync, cancellationToken);
        phase = RecordPhase("load", phase);

        var history = new List<int>(events.Count);
        var bought = new HashSet<int>();
        for (var i = events.Count - 1; i >= 0; i--)
        {
            if (index.RowOf(events[i].ItemId) is { } row)
            {
                history.Add(row);
                if (events[i].Kind == EventKind.Purchase)
                {
                    bought.Add(row);
                }
            }
        }

        var user = new UserContext(history, bought, profile);
        var candidates = RankingEngine.Candidates(index, user, options.Value.CandidatesPerSource);
        phase = RecordPhase("candidates", phase);
        var stranger = RankingEngine.IsStranger(user);
        var scoreFirst = RankingEngine.OrderReadsScorer(blendModel, stranger);
        if (scoreFirst)
        {
            RankingEngine.AddBuyProbabilities(scorer, version, profile.Vector, index, candidates);
            phase = RecordPhase("scorer", phase);
        }

        var chosen = RankingEngine.Order(index, candidates, blendModel, stranger, RankingRules.Serving(options.Value), count);
        phase = RecordPhase("rank", phase);
        if (!scoreFirst)
        {
            RankingEngine.AddBuyProbabilities(scorer, version, profile.Vector, index, chosen);
            phase = RecordPhase("scorer", phase);
        }

        var items = new RecommendedItem[chosen.Count];
        var shown = new ShownItem[chosen.Count];
        for (var i = 0; i < chosen.Count; i++)
        {
            var c = chosen[i];
            var item = index.Items[c.Item];
            items[i] = new RecommendedItem(item.ExternalId, item.Title, item.Category, Math.Round(c.Score, 6),
                c.BuyProbability is { } p ? Math.Round(p, 6) : null,
                c.Sources, index.Catalogue.Reasons.Describe(c, blendModel.StrongestSource(c.Features)), null);
            shown[i] = new ShownItem(item.Id, c.Score, RecommendationFeatures.SourceListOf(c.Features));
        }

        RecordPhase("response", phase);
        return new CachedRanking(userId, stamp, version?.Name ?? "none", stranger ? "popularity" : blendModel.Version, items, ShownItems.Of(shown));
    }

    public void RecordServed(ServedList list) => impressions.Add(list);

    public Task FlushImpressionsAsync(CancellationToken cancellationToken) => impressions.FlushAsync(cancellationToken);

    public BlendModel? FittedBlend => Volatile.Read(ref blend);

    /// <summary>The blend for the scorer version serving now; the prior until one has been fitted for it.</summary>
    public BlendModel BlendFor(string modelVersion) =>
        Volatile.Read(ref blend) is { } fitted && fitted.ModelVersion == modelVersion ? fitted : BlendModel.Prior(modelVersion);

    public void UseBlend(BlendModel model, DateTime fittedAt)
    {
        blendFittedAt = fittedAt;
        Volatile.Write(ref blend, model);
    }

    public async ValueTask<CatalogueIndex> GetIndexAsync(CancellationToken cancellationToken) =>
        Index ?? await RefreshAsync(force: false, cancellationToken);

    /// <summary>Rebuilds the index when the catalogue or the events changed since the last build (or when forced).</summary>
    public async Task<CatalogueIndex> RefreshAsync(bool force, CancellationToken cancellationToken)
    {
        await building.WaitAsync(cancellationToken);
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<DiscountsDbContext>();
            var current = await DataStamp.ReadAsync(db, cancellationToken);
            if (!force && Index is { } existing && current == stamp)
            {
                return existing;
            }

            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            var (items, events) = await LoadAsync(db, cancellationToken);
            var built = CatalogueIndex.Build(items, events, clock.GetUtcNow().UtcDateTime, options.Value, Index?.Catalogue);
            Volatile.Write(ref index, built);
            stamp = current;
            LogIndexBuilt(logger, built.Count, events.Count, built.Graph.EdgeCount, built.TermCount, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return built;
        }
        finally
        {
            building.Release();
        }
    }

    public static async Task<(List<CatalogueRow> Items, List<ActivityRow> Events)> LoadAsync(DiscountsDbContext db, CancellationToken cancellationToken)
    {
        var items = await db.Items.AsNoTracking().OrderBy(i => i.Id)
            .Select(i => new CatalogueRow(i.Id, i.ExternalId, i.Title, i.Description, i.Category, i.Brand, i.CreatedAt))
            .ToListAsync(cancellationToken);
        var events = await db.Events.AsNoTracking().Where(e => InterestKinds.Contains(e.Kind))
            .Select(e => new ActivityRow(e.UserId, e.ItemId, e.Kind, e.OccurredAt))
            .ToListAsync(cancellationToken);
        return (items, events);
    }

    /// <summary>The serving scorer's item vectors laid out for <paramref name="forIndex"/>'s items (kept while they are unchanged), or null while no scorer serves.</summary>
    public ItemMatrix? Matrix(CatalogueIndex forIndex)
    {
        var version = scorer.ActiveVersion;
        if (version is null)
        {
            return null;
        }

        if (Volatile.Read(ref matrix) is { } cached && cached.Catalogue == forIndex.Catalogue && cached.Matrix.Version == version)
        {
            return cached.Matrix;
        }

        lock (matrixLock)
        {
            if (matrix is { } again && again.Catalogue == forIndex.Catalogue && again.Matrix.Version == scorer.ActiveVersion)
            {
                return again.Matrix;
            }

            var built = ItemMatrix.From(scorer.EmbedCatalogue(), forIndex);
            var previous = matrix?.Matrix;
            Volatile.Write(ref matrix, new MatrixForCatalogue(built, forIndex.Catalogue));
            var items = built.Known.Count(known => known);
            if (items >= options.Value.ClusteredSearchFromItems)
            {
                // Seconds of k-means at 100k items: searches stay exact meanwhile. The same model's centroids are a good start.
                var start = previous?.Version == built.Version && previous.Dimension == built.Dimension ? previous.Search.Centroids : default;
                _ = Task.Run(() => BuildClusteredSearch(built, items, start));
            }

            return built;
        }
    }

    private void BuildClusteredSearch(ItemMatrix built, int items, ReadOnlyMemory<float> start)
    {
        try
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            var search = NearestItemSearch.Clustered(
                built.Vectors, built.Known, built.Dimension, (int)Math.Round(Math.Sqrt(items)), options.Value.ClusteredSearchScanShare, seed: items, start);
            built.UseSearch(search);
            LogClusteredSearch(logger, items, search.Clusters, search.ScanShare, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (Exception error)
        {
            LogClusteredSearchFailed(logger, error);
        }
    }

    private bool HasUserVector(long userId, int? profileVersion, ScorerVersion? version, long? lastEventId) =>
        users.TryGetValue(userId, out var cached) && cached.Vector is not null && profileVersion is { } current && cached.IsFor(current, version, lastEventId);

    /// <summary>
    /// The scorer's embedding of a user, computed once per profile version and model version, and for a version that
    /// reads the user's recent items once per newest event too (<paramref name="lastEventId"/>; null takes the newest
    /// vector known). Null until it is known: the encoder runs on a background thread, never on the request that first asks.
    /// </summary>
    public float[]? UserVector(long userId, int profileVersion, string profileText, ScorerVersion version, long? lastEventId = null)
    {
        if (profileText.Length == 0 && !version.ReadsHistory)
        {
            return null;
        }

        if (users.TryGetValue(userId, out var cached) && cached.IsFor(profileVersion, version, lastEventId) && cached.Vector is { } known)
        {
            return known;
        }

        // A pass of the encoder costs tens of milliseconds on two cores, more than the rest of a quote many times over.
        if (queuedUsers.TryAdd(userId, 0))
        {
            if (!userVectorQueue.Writer.TryWrite(new QueuedUser(userId, profileVersion, profileText, version, lastEventId))) queuedUsers.TryRemove(userId, out _);
            if (Interlocked.Exchange(ref embedderStarted, 1) == 0) new Thread(EmbedQueuedUsers) { IsBackground = true, Name = "user vector embedder" }.Start();
        }

        return null;
    }

    /// <summary>Embeds queued users' profiles a few at a time, on its own thread, and caches each vector for the version that made it.</summary>
    private void EmbedQueuedUsers()
    {
        var reader = userVectorQueue.Reader;
        while (reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
        {
            var batch = new List<QueuedUser>();
            while (batch.Count < UserVectorBatch && reader.TryRead(out var queued)) batch.Add(queued);
            try
            {
                var inputs = batch.Select(queued => queued.Version.ReadsHistory ? RecentActivity(queued).GetAwaiter().GetResult() : ScorerUser.OfText(queued.ProfileText)).ToList();

                var embedded = scorer.EmbedUsers(inputs);
                for (var i = 0; i < batch.Count; i++)
                {
                    if (embedded.Version == batch[i].Version)
                    {
                        Remember(batch[i].UserId, new CachedUser(batch[i].ProfileVersion, embedded.Version, embedded.Vectors[i], null, batch[i].LastEventId));
                    }
                }
            }
            catch (Exception error)
            {
                LogUserVectorsFailed(logger, error, batch.Count);
            }
            finally
            {
                foreach (var queued in batch) queuedUsers.TryRemove(queued.UserId, out _);
            }
        }
    }

    /// <summary>A user as a scorer that reads the history sees them now: their recent items (the ranking's history read) and newest texts.</summary>
    private async Task<ScorerUser> RecentActivity(QueuedUser queued)
    {
        var events = await reads.HistoryAsync(queued.UserId, CancellationToken.None);
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<DiscountsDbContext>();
        var texts = await db.UserTexts.AsNoTracking().Where(t => t.UserId == queued.UserId)
            .OrderByDescending(t => t.OccurredAt).ThenByDescending(t => t.Id).Take(ScorerHistory.MaxTexts).Select(t => t.Text).ToListAsync();
        return new ScorerUser(queued.ProfileText, ScorerHistory.Recent(events.Select(e => (e.ItemId, e.Kind))), texts);
    }

    /// <summary>
    /// What the user's profile proposes (content and nearest items, with its embedding), computed once per profile
    /// version, catalogue (the index's items part, which survives rebuilds for new events) and scorer matrix. A
    /// ranking after a new event or an index rebuild then skips the profile read, its JSON, the postings and the scan
    /// over every item vector; only a new profile, catalogue or scorer version pays for them again. The profile
    /// version is the one the request's stamp read (null when the user has no profile, so none is read).
    /// </summary>
    public async ValueTask<ProfileCandidates> ProfileCandidatesAsync(
        long userId, int? profileVersion, long? lastEventId, CatalogueIndex forIndex, ItemMatrix? itemMatrix, ScorerVersion? version,
        Func<long, CancellationToken, Task<UserProfileRow?>> readProfile, CancellationToken cancellationToken)
    {
        if (profileVersion is null)
        {
            return ProfileCandidates.None;
        }

        if (users.TryGetValue(userId, out var cached) && cached.IsFor(profileVersion.Value, version, lastEventId) && cached.Picks is { } picks
            && picks.Catalogue == forIndex.Catalogue && picks.Matrix == itemMatrix)
        {
            Interlocked.Increment(ref profileHits);
            profileLookups.Add(1, new KeyValuePair<string, object?>("result", "hit"));
            return picks.Candidates;
        }

        Interlocked.Increment(ref profileMisses);
        profileLookups.Add(1, new KeyValuePair<string, object?>("result", "miss"));

        if (await readProfile(userId, cancellationToken) is not { } profile)
        {
            return ProfileCandidates.None;
        }

        var vector = version is null ? null : UserVector(userId, profile.Version, profile.ProfileText, version, lastEventId);
        var candidates = CandidateGenerator.FromProfile(
            forIndex, ProfileJson.Interests(profile.KeywordsJson, profile.TopicsJson), vector, itemMatrix, options.Value.CandidatesPerSource);
        // Without the vector of this very version (swapped mid-request) the picks lack the nearest items: not kept.
        if (version is null || vector is not null || (profile.ProfileText.Length == 0 && !version.ReadsHistory))
        {
            Remember(userId, new CachedUser(profile.Version, version, vector, new CachedPicks(forIndex.Catalogue, itemMatrix, candidates), lastEventId));
        }

        return candidates;
    }

    private void Remember(long userId, CachedUser entry)
    {
        if (users.Count >= options.Value.ProfileCacheEntries && !users.ContainsKey(userId))
        {
            // An arbitrary tenth goes (hash order, unrelated to activity), so a full cache never empties at once.
            foreach (var key in users.Keys.Take(Math.Max(1, options.Value.ProfileCacheEntries / 10)))
            {
                users.TryRemove(key, out _);
            }
        }

        users[userId] = entry;
    }

    /// <summary>Queues a blend fit for the serving scorer version unless one is stored (then it is loaded) or already queued.</summary>
    public async Task EnsureBlendAsync(CancellationToken cancellationToken)
    {
        var oldest = clock.GetUtcNow().UtcDateTime.AddHours(-options.Value.BlendMaxAgeHours);
        if (scorer.ActiveVersion is not { } version || (FittedBlend?.ModelVersion == version.Name && blendFittedAt > oldest))
        {
            return;
        }

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<DiscountsDbContext>();
        var stored = await db.RecommendationBlends.AsNoTracking().Where(b => b.ModelVersion == version.Name && b.FittedAt > oldest)
            .OrderByDescending(b => b.FittedAt).FirstOrDefaultAsync(cancellationToken);
        if (stored is not null)
        {
            UseBlend(StoredBlendWeights.Read(stored.Version, stored.ModelVersion, stored.WeightsJson), stored.FittedAt);
            return;
        }

        // The content source reads profiles: a fit before the first profile build would learn that text never helps.
        if (await db.UserTexts.AnyAsync(cancellationToken) && !await db.Profiles.AnyAsync(p => p.Version > 0 && p.KeywordsJson != "[]", cancellationToken))
        {
            return;
        }

        blendFits.QueueFit();
    }

    private sealed record MatrixForCatalogue(ItemMatrix Matrix, CatalogueItems Catalogue);

    /// <summary>One user's profile-derived serving state; <paramref name="Picks"/> is null when only the vector was asked for.</summary>
    private sealed record QueuedUser(long UserId, int ProfileVersion, string ProfileText, ScorerVersion Version, long? LastEventId);

    /// <param name="LastEventId">The user's newest event when the vector was asked for; it matters only to a version that reads the history.</param>
    private sealed record CachedUser(int ProfileVersion, ScorerVersion? Version, float[]? Vector, CachedPicks? Picks, long? LastEventId)
    {
        public bool IsFor(int profileVersion, ScorerVersion? version, long? lastEventId) =>
            ProfileVersion == profileVersion && Version == version && (version?.ReadsHistory != true || lastEventId is null || LastEventId == lastEventId);
    }

    private sealed record CachedPicks(CatalogueItems Catalogue, ItemMatrix? Matrix, ProfileCandidates Candidates);

    /// <summary>Cheap figures that change whenever the catalogue or the interactions do.</summary>
    private sealed record DataStamp(int Items, DateTime? ItemsUpdated, long Events, long? LastEvent)
    {
        public static async Task<DataStamp> ReadAsync(DiscountsDbContext db, CancellationToken cancellationToken) => new(
            await db.Items.CountAsync(cancellationToken),
            await db.Items.MaxAsync(i => (DateTime?)i.UpdatedAt, cancellationToken),
            await db.Events.LongCountAsync(cancellationToken),
            await db.Events.MaxAsync(e => (long?)e.Id, cancellationToken));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Clustered item search built: {Items} items in {Clusters} clusters, scanning a share of {ScanShare} per search, in {Milliseconds:F0} ms")]
    private static partial void LogClusteredSearch(ILogger logger, int items, int clusters, double scanShare, double milliseconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Building the clustered item search failed; the nearest-items source keeps scanning every item")]
    private static partial void LogClusteredSearchFailed(ILogger logger, Exception error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Embedding {Users} queued users' profiles failed; their quotes go without the scorer's p(buy) until asked again")]
    private static partial void LogUserVectorsFailed(ILogger logger, Exception error, int users);

    [LoggerMessage(Level = LogLevel.Information, Message = "Recommendation index built: {Items} items, {Events} events, {Edges} co-occurrence edges, {Terms} terms in {Milliseconds:F0} ms")]
    private static partial void LogIndexBuilt(ILogger logger, int items, int events, int edges, int terms, double milliseconds);
}

