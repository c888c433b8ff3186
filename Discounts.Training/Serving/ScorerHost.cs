using System.Diagnostics;
using Discounts.Core.Scoring;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

using Discounts.Training.Scorer;

namespace Discounts.Training.Serving;

/// <summary>
/// Serves the current <see cref="ScorerSnapshot"/> and swaps in a new one with a single reference exchange. Each call
/// enters exactly one snapshot and is answered wholly by it; a replaced snapshot is disposed when its last reader leaves.
/// </summary>
public sealed partial class ScorerHost(ILogger<ScorerHost>? logger = null) : IScorer, IDisposable
{
    private readonly ILogger logger = logger ?? NullLogger<ScorerHost>.Instance;
    private ScorerSnapshot? current;

    public ScorerVersion? ActiveVersion => Volatile.Read(ref current)?.Version;

    /// <summary>How the serving snapshot got its item vectors (from the version's item vector file, or embedded).</summary>
    public ItemEmbeddingCounts? ActiveItemCounts => Volatile.Read(ref current)?.ItemCounts;

    /// <summary>Held by whoever decides what to publish (activation, startup, registry polling), one at a time.</summary>
    public SemaphoreSlim SwapLock { get; } = new(1, 1);

    /// <summary>Publishes a built snapshot; returns how long the exchange took.</summary>
    public TimeSpan Publish(ScorerSnapshot snapshot)
    {
        var started = Stopwatch.GetTimestamp();
        var previous = Interlocked.Exchange(ref current, snapshot);
        var elapsed = Stopwatch.GetElapsedTime(started);
        previous?.Retire();
        LogPublished(logger, snapshot.Version.Name, snapshot.Version.ModelVersionId, previous?.Version.Name);
        return elapsed;
    }

    public ScoredBatch Score(IReadOnlyList<ScoringPair> pairs) =>
        WithSnapshot(snapshot => new ScoredBatch(snapshot.Version, snapshot.ScoreUnchecked(pairs)));

    public EmbeddedBatch EmbedUsers(IReadOnlyList<ScorerUser> users) =>
        WithSnapshot(snapshot => new EmbeddedBatch(snapshot.Version, snapshot.EmbedUsers(users)));

    public EmbeddedBatch EmbedItems(IReadOnlyList<long> itemIds) =>
        WithSnapshot(snapshot => new EmbeddedBatch(snapshot.Version, snapshot.EmbedItems(itemIds)));

    public CatalogueEmbedding EmbedCatalogue() =>
        WithSnapshot(snapshot => snapshot.EmbedCatalogue());

    /// <summary>
    /// Embeds into the serving snapshot the items it has no vector for or whose text changed since it embedded them;
    /// returns how many. See <see cref="ScorerSnapshot.EmbedChanged"/>.
    /// </summary>
    public int EmbedChangedItems(IReadOnlyList<Scorer.CatalogueItem> items) =>
        WithSnapshot(snapshot => snapshot.EmbedChanged(items));

    public ScoredBatch? ScoreUserVector(ScorerVersion version, float[] userVector, IReadOnlyList<long> itemIds) =>
        WithSnapshot(snapshot => snapshot.Version == version ? new ScoredBatch(snapshot.Version, snapshot.ScoreUserVector(userVector, itemIds)) : null);

    public void Dispose()
    {
        Interlocked.Exchange(ref current, null)?.Retire();
        SwapLock.Dispose();
    }

    private T WithSnapshot<T>(Func<ScorerSnapshot, T> use)
    {
        while (true)
        {
            var snapshot = Volatile.Read(ref current) ?? throw new InvalidOperationException("No scorer has been loaded yet.");
            // A snapshot retired between the read and the enter is skipped: the loop picks up its replacement.
            if (!snapshot.TryEnter()) continue;
            try
            {
                return use(snapshot);
            }
            finally
            {
                snapshot.Exit();
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Scorer {Name} (model version {ModelVersionId}) now serving; replaced {Previous}")]
    private static partial void LogPublished(ILogger logger, string name, long? modelVersionId, string? previous);
}
