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
    private readonly IServedModel model;
    private readonly Dictionary<long, int> itemRows;
    private readonly float[] itemVectors;
    private readonly byte[] itemHashes;
    private readonly Lock additionLock = new();
    private int readers;
    private int retired;
    private int disposed;
    private Additions? additions;

    private ScorerSnapshot(IServedModel model, Dictionary<long, int> itemRows, float[] itemVectors, byte[] itemHashes, ScorerVersion version, ItemEmbeddingCounts itemCounts)
    {
        ItemCounts = itemCounts;
        this.model = model;
        this.itemRows = itemRows;
        this.itemVectors = itemVectors;
        this.itemHashes = itemHashes;
        Version = version;
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
        var served = new TwoTowerServed(scorer, maxLength);
        try
        {
            if (items.Count == 0) throw new InvalidOperationException("The catalogue is empty; there is nothing to score.");
            scorer.Model.eval();
            var (vectors, hashes, counts) = itemFile is null
                ? (served.EmbedItems(items), ItemEmbeddingStore.HashTexts(items), new ItemEmbeddingCounts(0, items.Count))
                : itemFile.Store.Embed(scorer, items, version.Sha256, maxLength, itemFile.Path);
            return Checked(served, items, vectors, hashes, version, counts);
        }
        catch
        {
            served.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Takes ownership of a sequence scorer loaded over <paramref name="items"/> (in that row order) and of the
    /// <paramref name="encoder"/> that embedded their texts, which also reads items added later and users' texts.
    /// </summary>
    public static ScorerSnapshot BuildSequence(SequenceScorer scorer, ScorerModel encoder, IReadOnlyList<long> trainedItemIds, (double Scale, double Bias) calibration,
        IReadOnlyList<CatalogueItem> items, ScorerVersion version, int maxLength, ItemEmbeddingCounts textCounts)
    {
        var served = new SequenceServed(scorer, encoder, items.Select(i => i.Id).ToList(), trainedItemIds, calibration, maxLength);
        try
        {
            if (items.Count == 0) throw new InvalidOperationException("The catalogue is empty; there is nothing to score.");
            return Checked(served, items, scorer.ItemVectors(), ItemEmbeddingStore.HashTexts(items), version with { ReadsHistory = true }, textCounts);
        }
        catch
        {
            served.Dispose();
            throw;
        }
    }

    private static ScorerSnapshot Checked(IServedModel served, IReadOnlyList<CatalogueItem> items, float[] vectors, byte[] hashes, ScorerVersion version, ItemEmbeddingCounts counts)
    {
        var rows = items.Select((item, row) => (item.Id, row)).ToDictionary(p => p.Id, p => p.row);
        var snapshot = new ScorerSnapshot(served, rows, vectors, hashes, version, counts);
        var warmUp = snapshot.ScoreUnchecked([new ScoringPair("warm-up", items[0].Id)]);
        if (vectors.Any(v => !float.IsFinite(v)) || warmUp.Any(p => !float.IsFinite(p)))
            throw new InvalidDataException($"Scorer {version.Name} produces NaN or infinite outputs.");
        return snapshot;
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
        var dimension = model.Dimension;
        var texts = pairs.Select(p => p.UserText).Distinct(StringComparer.Ordinal).ToList();
        var textRow = texts.Select((text, row) => (text, row)).ToDictionary(p => p.text, p => p.row, StringComparer.Ordinal);
        var userVectors = model.EmbedUsers(texts.Select(ScorerUser.OfText).ToList());
        var users = new float[pairs.Count * dimension];
        var items = new float[pairs.Count * dimension];
        for (var i = 0; i < pairs.Count; i++)
        {
            userVectors.AsSpan(textRow[pairs[i].UserText] * dimension, dimension).CopyTo(users.AsSpan(i * dimension, dimension));
            ItemVector(pairs[i].ItemId).CopyTo(items.AsSpan(i * dimension, dimension));
        }
        return model.ScorePairs(users, items);
    }

    internal float[][] EmbedUsers(IReadOnlyList<ScorerUser> users)
    {
        var dimension = model.Dimension;
        var flat = model.EmbedUsers(users);
        return [.. Enumerable.Range(0, users.Count).Select(row => flat.AsSpan(row * dimension, dimension).ToArray())];
    }

    internal float[][] EmbedItems(IReadOnlyList<long> itemIds)
    {
        return [.. itemIds.Select(id => ItemVector(id).ToArray())];
    }

    internal CatalogueEmbedding EmbedCatalogue()
    {
        var hidden = model.Dimension;
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
            var hidden = model.Dimension;
            var embedded = model.EmbedItems(changed.Select(c => c.Item).ToList());
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
    /// The head in managed code for one user against many items, no tensors, so a request scoring a few hundred
    /// candidates costs well under a millisecond and never waits on torch's thread pool.
    /// </summary>
    internal float[] ScoreUserVector(float[] userVector, IReadOnlyList<long> itemIds)
    {
        if (userVector.Length != model.Dimension) throw new ArgumentException($"A user vector has {model.Dimension} floats.", nameof(userVector));
        var head = model.HeadFor(userVector);
        var result = new float[itemIds.Count];
        for (var i = 0; i < itemIds.Count; i++)
        {
            var item = TryItemVector(itemIds[i]);
            result[i] = item.IsEmpty ? float.NaN : head.Probability(item);
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
        var hidden = model.Dimension;
        if (Volatile.Read(ref additions) is { } added && added.Rows.TryGetValue(itemId, out var addedRow))
            return added.Vectors.AsSpan(addedRow * hidden, hidden);
        return itemRows.TryGetValue(itemId, out var row) ? itemVectors.AsSpan(row * hidden, hidden) : default;
    }

    /// <summary>Vectors embedded after the build, with the text hash each was made from. Never changed once published.</summary>
    private sealed record Additions(Dictionary<long, int> Rows, float[] Vectors, byte[] Hashes);

    private void DisposeOnce()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 0) model.Dispose();
    }
}
