using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Discounts.Training.Scorer;

namespace Discounts.Web.Cli;

/// <summary>
/// The base MiniLM's sentence vectors of many texts for the evaluation verbs, optionally kept in a file between runs
/// (embedding a large catalogue takes minutes on two cores). A cache file is used only when it was written for exactly
/// the same texts (their SHA-256), otherwise it is rewritten.
/// </summary>
public static class TextVectorCache
{
    private const int Chunk = 1_000;

    /// <returns>Unit-length vectors, row-major [texts, dimension].</returns>
    public static (float[] Vectors, int Dimension) Embed(IReadOnlyList<string> texts, string cache, string dataDirectory)
    {
        var digest = Digest(texts);
        if (cache.Length > 0 && File.Exists(cache))
        {
            using var reader = new BinaryReader(File.OpenRead(cache));
            var (stored, count, dimension) = (reader.ReadBytes(digest.Length), reader.ReadInt32(), reader.ReadInt32());
            if (stored.AsSpan().SequenceEqual(digest) && count == texts.Count)
            {
                var read = new float[count * dimension];
                reader.BaseStream.ReadExactly(MemoryMarshal.AsBytes(read.AsSpan()));
                return (read, dimension);
            }
        }

        using var embedder = new BaseTextEmbedder(dataDirectory);
        var vectors = new List<float[]>(texts.Count);
        for (var start = 0; start < texts.Count; start += Chunk)
        {
            vectors.AddRange(embedder.Embed(texts.Skip(start).Take(Chunk).ToList()));
            Console.Error.Write($"\rembedded {vectors.Count} of {texts.Count}");
        }

        Console.Error.WriteLine();
        var size = vectors.Count == 0 ? 0 : vectors[0].Length;
        var flat = vectors.SelectMany(v => v).ToArray();
        if (cache.Length > 0)
        {
            using var writer = new BinaryWriter(File.Create(cache));
            writer.Write(digest);
            writer.Write(texts.Count);
            writer.Write(size);
            writer.Write(MemoryMarshal.AsBytes(flat.AsSpan()));
        }

        return (flat, size);
    }

    private static byte[] Digest(IReadOnlyList<string> texts)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var text in texts)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(text));
            hash.AppendData([0]);
        }

        return hash.GetHashAndReset();
    }
}
