using Discounts.Core.Scoring;
using Discounts.Training.FineTuning;
using static TorchSharp.torch;

namespace Discounts.Training.Serving;

/// <summary>
/// One complete, immutable serving state: a model in eval mode, its item embedding matrix and the version it is.
/// Readers are counted, so the host can dispose a replaced snapshot once the last in-flight request has ended.
/// </summary>
public sealed class ScorerSnapshot
{
    private readonly ScorerModel scorer;
    private readonly Dictionary<long, int> itemRows;
    private readonly float[] itemVectors;
    private readonly int maxLength;
    private readonly (float[] MarginWeights, float MarginBias, float Scale, float Offset) head;
    private int readers;
    private int retired;
    private int disposed;

    private ScorerSnapshot(ScorerModel scorer, Dictionary<long, int> itemRows, float[] itemVectors, int maxLength, ScorerVersion version,
        ItemEmbeddingCounts itemCounts)
    {
        ItemCounts = itemCounts;
        this.scorer = scorer;
        this.itemRows = itemRows;
        this.itemVectors = itemVectors;
        this.maxLength = maxLength;
        Version = version;
        head = scorer.Model.ExportHead();
    }

    public ScorerVersion Version { get; }

    public bool IsDisposed => Volatile.Read(ref disposed) == 1;

    /// <summary>How many item vectors came from the version's item embedding file and how many went through the model.</summary>
    public ItemEmbeddingCounts ItemCounts { get; }

    /// <summary>
    /// Takes ownership of <paramref name="scorer"/>: puts it in eval mode, embeds the catalogue, runs a warm-up score
    /// and refuses (disposing the model) a snapshot whose outputs hold NaN or infinity. With <paramref name="itemFile"/>,
    /// items whose text is unchanged since the file was written are not embedded again.
    /// </summary>
    public static ScorerSnapshot Build(ScorerModel scorer, IReadOnlyList<CatalogueItem> items, ScorerVersion version, int maxLength,
        ItemEmbeddingFile? itemFile = null)
    {
        try
        {
            if (items.Count == 0) throw new InvalidOperationException("The catalogue is empty; there is nothing to score.");
            scorer.Model.eval();
            var (vectors, counts) = itemFile is null
                ? (ScorerInference.Embed(scorer, items.Select(i => i.Text).ToList(), maxLength), new ItemEmbeddingCounts(0, items.Count))
                : itemFile.Store.Embed(scorer, items, version.Sha256, maxLength, itemFile.Path);
            var rows = items.Select((item, row) => (item.Id, row)).ToDictionary(p => p.Id, p => p.row);
            var snapshot = new ScorerSnapshot(scorer, rows, vectors, maxLength, version, counts);
            var warmUp = snapshot.ScoreUnchecked([new ScoringPair("warm-up", items[0].Id)]);
            if (vectors.Any(v => !float.IsFinite(v)) || warmUp.Any(p => !float.IsFinite(p)))
                throw new InvalidDataException($"Scorer {version.Name} produces NaN or infinite outputs.");
            return snapshot;
        }
        catch
        {
            scorer.Dispose();
            throw;
        }
    }

    internal bool TryEnter()
    {
        Interlocked.Increment(ref readers);
        if (Volatile.Read(ref retired) == 0) return true;
        Exit();
        return false;
    }

    internal void Exit()
    {
        if (Interlocked.Decrement(ref readers) == 0 && Volatile.Read(ref retired) == 1) DisposeOnce();
    }

    /// <summary>No new readers after this; the model is freed now if none is in flight, else by the last one out.</summary>
    internal void Retire()
    {
        // A full fence, not a plain write: the read of the reader count below must not move ahead of it.
        Interlocked.Exchange(ref retired, 1);
        if (Volatile.Read(ref readers) == 0) DisposeOnce();
    }

    internal float[] ScoreUnchecked(IReadOnlyList<ScoringPair> pairs)
    {
        var hidden = scorer.Model.HiddenSize;
        var texts = pairs.Select(p => p.UserText).Distinct(StringComparer.Ordinal).ToList();
        var textRow = texts.Select((text, row) => (text, row)).ToDictionary(p => p.text, p => p.row, StringComparer.Ordinal);
        var userVectors = ScorerInference.Embed(scorer, texts, maxLength);
        var users = new float[pairs.Count * hidden];
        var items = new float[pairs.Count * hidden];
        for (var i = 0; i < pairs.Count; i++)
        {
            userVectors.AsSpan(textRow[pairs[i].UserText] * hidden, hidden).CopyTo(users.AsSpan(i * hidden, hidden));
            itemVectors.AsSpan(ItemRow(pairs[i].ItemId) * hidden, hidden).CopyTo(items.AsSpan(i * hidden, hidden));
        }
        return ScorerInference.BuyProbabilities(scorer, users, items);
    }

    internal float[][] EmbedUsers(IReadOnlyList<string> texts)
    {
        var hidden = scorer.Model.HiddenSize;
        var flat = ScorerInference.Embed(scorer, texts, maxLength);
        return [.. Enumerable.Range(0, texts.Count).Select(row => flat.AsSpan(row * hidden, hidden).ToArray())];
    }

    internal float[][] EmbedItems(IReadOnlyList<long> itemIds)
    {
        var hidden = scorer.Model.HiddenSize;
        return [.. itemIds.Select(id => itemVectors.AsSpan(ItemRow(id) * hidden, hidden).ToArray())];
    }

    internal CatalogueEmbedding EmbedCatalogue()
    {
        var ids = new long[itemRows.Count];
        foreach (var (id, row) in itemRows) ids[row] = id;
        return new CatalogueEmbedding(Version, ids, (float[])itemVectors.Clone(), scorer.Model.HiddenSize);
    }

    /// <summary>
    /// The head in managed code for one user against many items: a dot product per item, no tensors, so a request
    /// scoring a few hundred candidates costs well under a millisecond and never waits on torch's thread pool.
    /// </summary>
    internal float[] ScoreUserVector(float[] userVector, IReadOnlyList<long> itemIds)
    {
        var hidden = scorer.Model.HiddenSize;
        if (userVector.Length != hidden) throw new ArgumentException($"A user vector has {hidden} floats.", nameof(userVector));
        var w = head.MarginWeights.AsSpan();
        var wu = w[..hidden];
        var wv = w.Slice(hidden, hidden);
        var wa = w.Slice(2 * hidden, hidden);
        var wm = w.Slice(3 * hidden, hidden);
        // Per user once: the u part of the margin, and v's weights folded with u∘v's (wv + wm⊙u).
        var userPart = head.MarginBias + Dot(wu, userVector);
        var itemWeights = new float[hidden];
        for (var h = 0; h < hidden; h++) itemWeights[h] = wv[h] + wm[h] * userVector[h];
        var result = new float[itemIds.Count];
        for (var i = 0; i < itemIds.Count; i++)
        {
            if (!itemRows.TryGetValue(itemIds[i], out var row))
            {
                result[i] = float.NaN;
                continue;
            }

            var item = itemVectors.AsSpan(row * hidden, hidden);
            var margin = userPart + Dot(itemWeights, item);
            for (var h = 0; h < hidden; h++) margin += wa[h] * MathF.Abs(userVector[h] - item[h]);
            result[i] = 1f / (1f + MathF.Exp(-(head.Scale * margin + head.Offset)));
        }
        return result;
    }

    private static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var sum = 0f;
        for (var i = 0; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
    }

    private int ItemRow(long itemId) =>
        itemRows.TryGetValue(itemId, out var row) ? row : throw new ArgumentException($"Item {itemId} is not in the scorer's catalogue.", nameof(itemId));

    private void DisposeOnce()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 0) scorer.Dispose();
    }
}
