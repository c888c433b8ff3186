using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Discounts.Training.Scorer;
using Discounts.Training.Runtime;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Discounts.Training.Serving;

/// <summary>Where a snapshot keeps its item vectors between builds, and the store that reads and writes that file.</summary>
public sealed record ItemEmbeddingFile(ItemEmbeddingStore Store, string Path);

/// <summary>How a snapshot's item vectors were obtained.</summary>
public sealed record ItemEmbeddingCounts(int Reused, int Embedded);

/// <summary>
/// Per model version, the item vectors of the last snapshot built from it, so a restart or a swap back embeds only
/// the items whose text changed. The file is a cache: it holds for each item its id, the sha256 of the exact text
/// embedded, and the vector, under a header naming the weights' sha256 and everything else that changes a vector
/// (maximum length, tokenizer vocabulary, hidden size). A file that is missing, damaged, or written for other weights
/// or settings is ignored and rewritten; deleting it only costs one full embedding.
/// </summary>
public sealed partial class ItemEmbeddingStore(ILogger<ItemEmbeddingStore>? logger = null)
{
    /// <summary>"DISC-IEV": Discounts item embedding vectors.</summary>
    private static readonly byte[] Magic = "DISC-IEV"u8.ToArray();
    private const int FormatVersion = 1;
    private const int TextHashBytes = 32;
    private const int ChecksumBytes = 32;

    /// <summary>Strings in the header are short (a sha256, a fingerprint); anything longer is damage, not data.</summary>
    private const int MaxHeaderString = 256;

    private readonly ILogger logger = logger ?? NullLogger<ItemEmbeddingStore>.Instance;

    /// <summary>
    /// The vectors of <paramref name="items"/> in their order, row-major [items, hidden]: copied from the file where the
    /// item's text hash matches, embedded through the model otherwise. When anything was embedded, or the file held other
    /// items, the file is rewritten atomically. Reading or writing the file never fails the build: it is only a cache.
    /// </summary>
    public (float[] Vectors, byte[] TextHashes, ItemEmbeddingCounts Counts) Embed(
        ScorerModel scorer, IReadOnlyList<CatalogueItem> items, string weightsSha256, int maxLength, string path)
    {
        var started = Stopwatch.GetTimestamp();
        var header = new Header(weightsSha256, scorer.Tokenizer.Fingerprint, maxLength, scorer.Model.HiddenSize);
        var hidden = header.Hidden;
        var stored = TryRead(path, header);
        var hashes = new byte[items.Count * TextHashBytes];
        var vectors = new float[items.Count * hidden];
        var missing = new List<int>();
        for (var row = 0; row < items.Count; row++)
        {
            var hash = hashes.AsSpan(row * TextHashBytes, TextHashBytes);
            HashText(items[row].Text, hash);
            if (stored is not null && stored.RowOf.TryGetValue(items[row].Id, out var storedRow)
                && stored.Hashes.AsSpan(storedRow * TextHashBytes, TextHashBytes).SequenceEqual(hash))
                stored.Vectors.AsSpan(storedRow * hidden, hidden).CopyTo(vectors.AsSpan(row * hidden, hidden));
            else
                missing.Add(row);
        }

        if (missing.Count > 0)
        {
            var embedded = ScorerInference.Embed(scorer, missing.Select(row => items[row].Text).ToList(), maxLength);
            for (var i = 0; i < missing.Count; i++)
                embedded.AsSpan(i * hidden, hidden).CopyTo(vectors.AsSpan(missing[i] * hidden, hidden));
        }

        var counts = new ItemEmbeddingCounts(items.Count - missing.Count, missing.Count);
        // Non-finite vectors fail the snapshot's own check; they must not be kept for the next build either.
        var unchanged = missing.Count == 0 && stored?.RowOf.Count == items.Count;
        if (!unchanged && vectors.All(float.IsFinite)) TryWrite(path, header, items, hashes, vectors);
        LogEmbedded(logger, weightsSha256, counts.Reused, counts.Embedded, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return (vectors, hashes, counts);
    }

    /// <summary>Bytes in one item's text hash.</summary>
    internal const int HashLength = TextHashBytes;

    /// <summary>The sha256 of each text, row after row: what decides whether a stored vector still fits its item.</summary>
    internal static byte[] HashTexts(IReadOnlyList<CatalogueItem> items)
    {
        var hashes = new byte[items.Count * TextHashBytes];
        for (var row = 0; row < items.Count; row++) HashText(items[row].Text, hashes.AsSpan(row * TextHashBytes, TextHashBytes));
        return hashes;
    }

    internal static void HashText(string text, Span<byte> destination) => SHA256.HashData(Encoding.UTF8.GetBytes(text), destination);

    private Stored? TryRead(string path, Header expected)
    {
        if (!File.Exists(path)) return null;
        try
        {
            return Read(path, expected);
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            // The file is only a cache: whatever is wrong with it, embedding everything again is always correct.
            LogIgnored(logger, Path.GetFileName(path), error.Message);
            return null;
        }
    }

    private static Stored Read(string path, Header expected)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        using var reader = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
        if (!reader.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic)) throw new InvalidDataException("not an item embedding file");
        var format = reader.ReadInt32();
        if (format != FormatVersion) throw new InvalidDataException($"format {format}, expected {FormatVersion}");
        var found = new Header(ReadString(reader), ReadString(reader), reader.ReadInt32(), reader.ReadInt32());
        if (!string.Equals(found.WeightsSha256, expected.WeightsSha256, StringComparison.OrdinalIgnoreCase))
            throw new InvalidDataException($"written for weights {found.WeightsSha256}, these are {expected.WeightsSha256}");
        if (found != expected with { WeightsSha256 = found.WeightsSha256 })
            throw new InvalidDataException("written with another maximum length, tokenizer or hidden size");
        var count = reader.ReadInt32();
        var headerLength = stream.Position;
        var recordLength = sizeof(long) + TextHashBytes + (expected.Hidden * sizeof(float));
        // The length is checked before anything is allocated, so a truncated or padded file costs no reading.
        if (count < 0 || stream.Length != headerLength + ((long)count * recordLength) + ChecksumBytes)
            throw new InvalidDataException($"{stream.Length} bytes do not hold the {count} items the header announces");

        using var checksum = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        stream.Position = 0;
        var headerBytes = new byte[headerLength];
        stream.ReadExactly(headerBytes);
        checksum.AppendData(headerBytes);

        var stored = new Stored(new Dictionary<long, int>(count), new byte[count * TextHashBytes], new float[count * expected.Hidden]);
        var record = new byte[recordLength];
        for (var row = 0; row < count; row++)
        {
            stream.ReadExactly(record);
            checksum.AppendData(record);
            var id = BinaryPrimitives.ReadInt64LittleEndian(record);
            if (!stored.RowOf.TryAdd(id, row)) throw new InvalidDataException($"item {id} appears twice");
            record.AsSpan(sizeof(long), TextHashBytes).CopyTo(stored.Hashes.AsSpan(row * TextHashBytes));
            var vector = stored.Vectors.AsSpan(row * expected.Hidden, expected.Hidden);
            MemoryMarshal.Cast<byte, float>(record.AsSpan(sizeof(long) + TextHashBytes)).CopyTo(vector);
            if (!BitConverter.IsLittleEndian) ReverseFloats(vector);
        }

        var written = new byte[ChecksumBytes];
        stream.ReadExactly(written);
        if (!checksum.GetHashAndReset().AsSpan().SequenceEqual(written)) throw new InvalidDataException("checksum mismatch");
        if (!stored.Vectors.All(float.IsFinite)) throw new InvalidDataException("holds NaN or infinite values");
        return stored;
    }

    private void TryWrite(string path, Header header, IReadOnlyList<CatalogueItem> items, byte[] hashes, float[] vectors)
    {
        // Nodes sharing the artifact directory may write the same file at once: each writes its own temporary and
        // renames it over the target, so a reader only ever sees one whole file (and both hold the same vectors).
        var temporary = $"{path}.tmp-{Guid.NewGuid():N}";
        try
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
            Write(temporary, header, items, hashes, vectors);
            DurableFile.FlushToDisk(temporary);
            DurableFile.Rename(temporary, path, overwrite: true);
            LogWritten(logger, System.IO.Path.GetFileName(path), items.Count);
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            // A read-only or full share costs the next start a full embedding, never this one its snapshot.
            LogWriteFailed(logger, System.IO.Path.GetFileName(path), error.Message);
        }
        finally
        {
            try
            {
                if (File.Exists(temporary)) File.Delete(temporary);
            }
            catch (Exception error) when (error is IOException or UnauthorizedAccessException)
            {
                LogWriteFailed(logger, System.IO.Path.GetFileName(temporary), error.Message);
            }
        }
    }

    private static void Write(string path, Header header, IReadOnlyList<CatalogueItem> items, byte[] hashes, float[] vectors)
    {
        using var checksum = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16);
        using (var headerBytes = new MemoryStream())
        {
            using (var writer = new BinaryWriter(headerBytes, Encoding.UTF8, leaveOpen: true))
            {
                writer.Write(Magic);
                writer.Write(FormatVersion);
                writer.Write(header.WeightsSha256);
                writer.Write(header.TokenizerFingerprint);
                writer.Write(header.MaxLength);
                writer.Write(header.Hidden);
                writer.Write(items.Count);
            }

            checksum.AppendData(headerBytes.GetBuffer(), 0, (int)headerBytes.Length);
            stream.Write(headerBytes.GetBuffer(), 0, (int)headerBytes.Length);
        }

        var hidden = header.Hidden;
        var record = new byte[sizeof(long) + TextHashBytes + (hidden * sizeof(float))];
        for (var row = 0; row < items.Count; row++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(record, items[row].Id);
            hashes.AsSpan(row * TextHashBytes, TextHashBytes).CopyTo(record.AsSpan(sizeof(long)));
            var vector = MemoryMarshal.Cast<byte, float>(record.AsSpan(sizeof(long) + TextHashBytes));
            vectors.AsSpan(row * hidden, hidden).CopyTo(vector);
            if (!BitConverter.IsLittleEndian) ReverseFloats(vector);
            checksum.AppendData(record);
            stream.Write(record);
        }

        stream.Write(checksum.GetHashAndReset());
    }

    private static string ReadString(BinaryReader reader)
    {
        // BinaryReader.ReadString trusts the length prefix; a damaged prefix must not allocate gigabytes.
        var length = reader.Read7BitEncodedInt();
        if (length is < 0 or > MaxHeaderString) throw new InvalidDataException("damaged header");
        return Encoding.UTF8.GetString(reader.ReadBytes(length));
    }

    private static void ReverseFloats(Span<float> values)
    {
        var ints = MemoryMarshal.Cast<float, int>(values);
        for (var i = 0; i < ints.Length; i++) ints[i] = BinaryPrimitives.ReverseEndianness(ints[i]);
    }

    private sealed record Header(string WeightsSha256, string TokenizerFingerprint, int MaxLength, int Hidden);

    private sealed record Stored(Dictionary<long, int> RowOf, byte[] Hashes, float[] Vectors);

    [LoggerMessage(Level = LogLevel.Information, Message = "Item vectors for weights {Sha256}: {Reused} reused from the store, {Embedded} embedded, in {Milliseconds:F0} ms")]
    private static partial void LogEmbedded(ILogger logger, string sha256, int reused, int embedded, double milliseconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ignored the item vector file {File} and embedding again: {Reason}")]
    private static partial void LogIgnored(ILogger logger, string file, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Wrote the item vector file {File} ({Items} items)")]
    private static partial void LogWritten(ILogger logger, string file, int items);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not write the item vector file {File}; the next build embeds again: {Reason}")]
    private static partial void LogWriteFailed(ILogger logger, string file, string reason);
}
