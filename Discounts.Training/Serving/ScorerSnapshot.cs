using Discounts.Core.Scoring;
using Discounts.Training.Scorer;
using static TorchSharp.torch;

namespace Discounts.Training.Serving;

/// <summary>
/// One complete serving state: a model in eval mode, its item embedding matrix and the version it is. The matrix built
/// with it never changes; items added or edited later are embedded into a separate set of additions that replaces
/// itself whole (<see cref="EmbedChanged"/>). Readers are counted, so the host can dispose a replaced snapshot once the
/// last in-flight request has ended.
/// </summary>
public sealed class ScorerSnapshot
{
    private readonly ScorerModel scorer;
    private readonly Dictionary<long, int> itemRows;
    private readonly float[] itemVectors;
    private readonly byte[] itemHashes;
    private readonly Lock additionLock = new();
    private readonly int maxLength;
    private readonly (float[] MarginWeights, float MarginBias, float Scale, float Offset) head;
    private int readers;
    private int retired;
    private int disposed;
    private Additions? additions;

    private ScorerSnapshot(ScorerModel scorer, Dictionary<long, int> itemRows, float[] itemVectors, byte[] itemHashes, int maxLength,
        ScorerVersion version, ItemEmbeddingCounts itemCounts)
    {
        ItemCounts = itemCounts;
        this.scorer = scorer;
        this.itemRows = itemRows;
        this.itemVectors = itemVectors;
        this.itemHashes = itemHashes;
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
            var (vectors, hashes, counts) = itemFile is null
                ? (ScorerInference.Embed(scorer, items.Select(i => i.Text).ToList(), maxLength), ItemEmbeddingStore.HashTexts(items), new ItemEmbeddingCounts(0, items.Count))
                : itemFile.Store.Embed(scorer, items, version.Sha256, maxLength, itemFile.Path);
            var rows = items.Select((item, row) => (item.Id, row)).ToDictionary(p => p.Id, p => p.row);
            var snapshot = new ScorerSnapshot(scorer, rows, vectors, hashes, maxLength, version, counts);
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
            ItemVector(pairs[i].ItemId).CopyTo(items.AsSpan(i * hidden, hidden));
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
        return [.. itemIds.Select(id => ItemVector(id).ToArray())];
    }

    internal CatalogueEmbedding EmbedCatalogue()
    {
        var hidden = scorer.Model.HiddenSize;
        var ids = new long[itemRows.Count];
        foreach (var (id, row) in itemRows) ids[row] = id;
        if (Volatile.Read(ref additions) is not { } added) return new CatalogueEmbedding(Version, ids, (float[])itemVectors.Clone(), hidden);

        // Edited items take their new vector in place; new ones follow the built rows.
        var appended = added.Rows.Keys.Where(id => !itemRows.ContainsKey(id)).Order().ToList();
        var vectors = new float[(ids.Length + appended.Count) * hidden];
        itemVectors.CopyTo(vectors, 0);
        foreach (var (id, row) in added.Rows)
            if (itemRows.TryGetValue(id, out var builtRow)) added.Vectors.AsSpan(row * hidden, hidden).CopyTo(vectors.AsSpan(builtRow * hidden));
        for (var i = 0; i < appended.Count; i++)
            added.Vectors.AsSpan(added.Rows[appended[i]] * hidden, hidden).CopyTo(vectors.AsSpan((ids.Length + i) * hidden));
        return new CatalogueEmbedding(Version, [.. ids, .. appended], vectors, hidden);
    }

    /// <summary>
    /// Embeds the items of <paramref name="items"/> this snapshot has no vector for, or whose text changed since it
    /// embedded them, and makes them visible to every later call at once. Items already current cost one text hash.
    /// </summary>
    /// <returns>How many items were embedded.</returns>
    internal int EmbedChanged(IReadOnlyList<CatalogueItem> items)
    {
        // One at a time: two refreshes interleaving would each publish a set missing the other's items.
        lock (additionLock)
        {
            var current = additions;
            var hashLength = ItemEmbeddingStore.HashLength;
            var hash = new byte[hashLength];
            var changed = new List<(CatalogueItem Item, byte[] Hash)>();
            foreach (var item in items)
            {
                ItemEmbeddingStore.HashText(item.Text, hash);
                var known = current is not null && current.Rows.TryGetValue(item.Id, out var addedRow)
                    ? current.Hashes.AsSpan(addedRow * hashLength, hashLength)
                    : itemRows.TryGetValue(item.Id, out var row) ? itemHashes.AsSpan(row * hashLength, hashLength) : default;
                if (!known.SequenceEqual(hash)) changed.Add((item, (byte[])hash.Clone()));
            }

            if (changed.Count == 0) return 0;
            var hidden = scorer.Model.HiddenSize;
            var embedded = ScorerInference.Embed(scorer, changed.Select(c => c.Item.Text).ToList(), maxLength);
            if (!embedded.All(float.IsFinite)) throw new InvalidDataException($"Scorer {Version.Name} embeds an item as NaN or infinity.");
            var rows = current is null ? [] : new Dictionary<long, int>(current.Rows);
            var vectors = new List<float>(current?.Vectors ?? []);
            var hashes = new List<byte>(current?.Hashes ?? []);
            for (var i = 0; i < changed.Count; i++)
            {
                var vector = embedded.AsSpan(i * hidden, hidden);
                if (rows.TryGetValue(changed[i].Item.Id, out var row))
                {
                    for (var h = 0; h < hidden; h++) vectors[(row * hidden) + h] = vector[h];
                    for (var b = 0; b < hashLength; b++) hashes[(row * hashLength) + b] = changed[i].Hash[b];
                    continue;
                }

                rows[changed[i].Item.Id] = rows.Count;
                vectors.AddRange(vector);
                hashes.AddRange(changed[i].Hash);
            }

            Volatile.Write(ref additions, new Additions(rows, [.. vectors], [.. hashes]));
            return changed.Count;
        }
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
        var userPart = head.MarginBias + VectorMath.Dot(wu, userVector);
        var itemWeights = new float[hidden];
        for (var h = 0; h < hidden; h++) itemWeights[h] = wv[h] + wm[h] * userVector[h];
        var result = new float[itemIds.Count];
        for (var i = 0; i < itemIds.Count; i++)
        {
            var item = TryItemVector(itemIds[i]);
            if (item.IsEmpty)
            {
                result[i] = float.NaN;
                continue;
            }

            var margin = userPart + VectorMath.PairMargin(itemWeights, wa, userVector, item);
            result[i] = 1f / (1f + MathF.Exp(-(head.Scale * margin + head.Offset)));
        }
        return result;
    }

    private ReadOnlySpan<float> ItemVector(long itemId)
    {
        var vector = TryItemVector(itemId);
        return vector.IsEmpty ? throw new ArgumentException($"Item {itemId} is not in the scorer's catalogue.", nameof(itemId)) : vector;
    }

    /// <summary>The item's vector, from the additions when it was added or edited since the build; empty when unknown.</summary>
    private ReadOnlySpan<float> TryItemVector(long itemId)
    {
        var hidden = scorer.Model.HiddenSize;
        if (Volatile.Read(ref additions) is { } added && added.Rows.TryGetValue(itemId, out var addedRow))
            return added.Vectors.AsSpan(addedRow * hidden, hidden);
        return itemRows.TryGetValue(itemId, out var row) ? itemVectors.AsSpan(row * hidden, hidden) : default;
    }

    /// <summary>Vectors embedded after the build, with the text hash each was made from. Never changed once published.</summary>
    private sealed record Additions(Dictionary<long, int> Rows, float[] Vectors, byte[] Hashes);

    private void DisposeOnce()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 0) scorer.Dispose();
    }
}
