using System.Collections.Concurrent;
using System.Text.Json;
using Discounts.Core.Data;
using Discounts.Core.Domain;
using Discounts.Core.Profiling;
using Discounts.Core.Recommending;
using Discounts.Core.Scoring;
using Discounts.Web.Infrastructure;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Discounts.Web.Features.Recommendations;

/// <summary>
/// The serving state of recommendations, shared by every request: the current <see cref="CatalogueIndex"/>, the blend
/// in use, the scorer's item matrix (per model version and catalogue) and users' profile embeddings and profile
/// candidates (per profile version, model version and catalogue). Each is replaced whole, so a request reads one
/// consistent set without locks.
/// </summary>
public sealed partial class Recommender(
    IServiceScopeFactory scopes, IScorer scorer, IOptions<RecommendationOptions> options, TimeProvider clock, DiscountsMetrics metrics,
    ILogger<Recommender> logger)
{
    private readonly System.Diagnostics.Metrics.Histogram<double> phases = metrics.Meter.CreateHistogram<double>(
        "discounts.recommendations.phase.duration", "ms", "Time spent per request in each phase: load, candidates, scorer, rank, quotes");

    private static readonly EventKind[] InterestKinds = [EventKind.View, EventKind.Click, EventKind.Cart, EventKind.Purchase];

    private readonly System.Diagnostics.Metrics.Counter<long> profileLookups = metrics.Meter.CreateCounter<long>(
        "discounts.recommendations.profile_cache.lookups", null, "Profile candidate cache lookups of a ranking by result: hit (reused) or miss (profile read and searched)");

    private readonly SemaphoreSlim building = new(1, 1);
    private long profileHits;
    private long profileMisses;
    private readonly Lock matrixLock = new();
    private readonly ConcurrentDictionary<long, CachedUser> users = new();
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

    /// <summary>Records the time since <paramref name="since"/> for a phase, and returns now for the next one.</summary>
    public long RecordPhase(string phase, long since)
    {
        var now = System.Diagnostics.Stopwatch.GetTimestamp();
        phases.Record(System.Diagnostics.Stopwatch.GetElapsedTime(since, now).TotalMilliseconds, new KeyValuePair<string, object?>("phase", phase));
        return now;
    }

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
            Volatile.Write(ref matrix, new MatrixForCatalogue(built, forIndex.Catalogue));
            return built;
        }
    }

    /// <summary>The scorer's embedding of a user's profile text, computed once per profile version and model version.</summary>
    public float[]? UserVector(long userId, int profileVersion, string profileText, ScorerVersion version)
    {
        if (profileText.Length == 0)
        {
            return null;
        }

        if (users.TryGetValue(userId, out var cached) && cached.ProfileVersion == profileVersion && cached.Version == version && cached.Vector is { } known)
        {
            return known;
        }

        var embedded = scorer.EmbedUsers([profileText]);
        if (embedded.Version != version)
        {
            return null;
        }

        Remember(userId, new CachedUser(profileVersion, embedded.Version, embedded.Vectors[0], null));
        return embedded.Vectors[0];
    }

    /// <summary>
    /// What the user's profile proposes (content and nearest items, with its embedding), computed once per profile
    /// version, catalogue (the index's items part, which survives rebuilds for new events) and scorer matrix. A
    /// ranking after a new event or an index rebuild then skips the profile read, its JSON, the postings and the scan
    /// over every item vector; only a new profile, catalogue or scorer version pays for them again. The profile
    /// version is the one the request's stamp read (null when the user has no profile, so none is read).
    /// </summary>
    public async ValueTask<ProfileCandidates> ProfileCandidatesAsync(
        long userId, int? profileVersion, CatalogueIndex forIndex, ItemMatrix? itemMatrix, ScorerVersion? version,
        Func<long, CancellationToken, Task<UserProfileRow?>> readProfile, CancellationToken cancellationToken)
    {
        if (profileVersion is null)
        {
            return ProfileCandidates.None;
        }

        if (users.TryGetValue(userId, out var cached) && cached.ProfileVersion == profileVersion && cached.Picks is { } picks
            && picks.Catalogue == forIndex.Catalogue && picks.Matrix == itemMatrix && cached.Version == version)
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

        var vector = version is null ? null : UserVector(userId, profile.Version, profile.ProfileText, version);
        var candidates = CandidateGenerator.FromProfile(
            forIndex, Interests(profile.KeywordsJson, profile.TopicsJson), vector, itemMatrix, options.Value.CandidatesPerSource);
        // Without the vector of this very version (swapped mid-request) the picks lack the nearest items: not kept.
        if (version is null || vector is not null || profile.ProfileText.Length == 0)
        {
            Remember(userId, new CachedUser(profile.Version, version, vector, new CachedPicks(forIndex.Catalogue, itemMatrix, candidates)));
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

    /// <summary>The profile's keywords and its topics' words, as the content source reads them.</summary>
    public static IReadOnlyList<WeightedTerm> Interests(string keywordsJson, string topicsJson)
    {
        var interests = JsonSerializer.Deserialize<List<WeightedTerm>>(keywordsJson, ProfileJson.Options) ?? [];
        foreach (var topic in JsonSerializer.Deserialize<List<UserTopic>>(topicsJson, ProfileJson.Options) ?? [])
        {
            // A topic's words share its weight in the user's mix, so a strong topic counts like one good keyword.
            interests.AddRange(topic.TopWords.Select(word => new WeightedTerm(word, topic.Share / Math.Max(1, topic.TopWords.Count))));
        }

        return interests;
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

        scope.ServiceProvider.GetRequiredService<JobDeduplicator>()
            .EnqueueOnce(FitRecommendationBlend.JobId, client => client.Enqueue<FitRecommendationBlend.Job>(job => job.RunAsync(CancellationToken.None)));
    }

    private sealed record MatrixForCatalogue(ItemMatrix Matrix, CatalogueItems Catalogue);

    /// <summary>One user's profile-derived serving state; <paramref name="Picks"/> is null when only the vector was asked for.</summary>
    private sealed record CachedUser(int ProfileVersion, ScorerVersion? Version, float[]? Vector, CachedPicks? Picks);

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

    [LoggerMessage(Level = LogLevel.Information, Message = "Recommendation index built: {Items} items, {Events} events, {Edges} co-occurrence edges, {Terms} terms in {Milliseconds:F0} ms")]
    private static partial void LogIndexBuilt(ILogger logger, int items, int events, int edges, int terms, double milliseconds);
}

/// <summary>Keeps the index current and makes sure the serving scorer version has a fitted blend.</summary>
public sealed partial class RecommendationRefresher(Recommender recommender, IOptions<RecommendationOptions> options, ILogger<RecommendationRefresher> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        var lastRefresh = DateTime.MinValue;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (DateTime.UtcNow - lastRefresh >= TimeSpan.FromSeconds(options.Value.RefreshSeconds))
                {
                    await recommender.RefreshAsync(force: false, stoppingToken);
                    lastRefresh = DateTime.UtcNow;
                }

                await recommender.EnsureBlendAsync(stoppingToken);
            }
            catch (Exception error) when (error is not OperationCanceledException)
            {
                LogRefreshFailed(logger, error);
            }

            // Checked often (it is cheap), so a newly activated scorer gets its blend fitted within seconds.
            await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refreshing the recommendation index failed")]
    private static partial void LogRefreshFailed(ILogger logger, Exception error);
}
