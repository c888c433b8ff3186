using System.Diagnostics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Text.Json;
using Discounts.Core.Evaluation;
using Discounts.Core.Recommending;
using Discounts.Core.Scoring;
using Discounts.Training.Scorer;

namespace Discounts.Web.Cli;

/// <summary>
/// `evaluate-vector-search --catalogue generated|scientific [--items 100000] [--queries 500] [--shares 0.02,0.04,0.08]
/// [--input DIR] [--cache FILE] [--data-dir DIR]`: embeds a catalogue and profile-like queries with the base MiniLM
/// (the served scorer's starting point), then compares the clustered item search (<see cref="NearestItemSearch"/>,
/// √n clusters) at each scan share with the exact scan: recall@60 (the nearest-items source's list length) and the
/// time per search. `generated` is the load test's 100k catalogue (the same title generator as
/// docs/scripts/load-recommendations.sh, queries are short interest phrases); `scientific` is Amazon Industrial and
/// Scientific's real item texts, each query the joined texts of one user's last three training items. `--cache` keeps
/// the vectors between runs (embedding 100k titles takes minutes). Prints one JSON line on stdout, progress on stderr.
/// </summary>
public static class EvaluateVectorSearchVerb
{
    private const int Wanted = 60;

    private static readonly (string Category, string[] Nouns)[] Categories =
    [
        ("Skincare", ["serum", "cleanser", "toner"]), ("Outdoor", ["tent", "backpack", "headlamp"]), ("Kitchen", ["skillet", "kettle", "blender"]),
        ("Books", ["novel", "cookbook", "thriller"]), ("Electronics", ["charger", "speaker", "headphones"]), ("Snacks", ["granola", "trail mix", "crisps"]),
    ];

    private static readonly string[] Words = ["organic", "ultralight", "wireless", "vegan", "classic", "premium", "compact", "hydrating", "family", "travel", "matte", "roast"];

    public static int Run(IReadOnlyList<string> args)
    {
        var options = CliArguments.Parse(args, "catalogue", "items", "queries", "shares", "input", "cache", "data-dir");
        var catalogue = options.Required("catalogue");
        var queryCount = options.Int("queries", 500, 10, 100_000);
        var shares = options.Optional("shares", "0.01,0.02,0.04,0.08,0.16").Split(',')
            .Select(text => double.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var share) && share is > 0 and <= 1
                ? share : throw new CliException($"--shares: '{text}' is not a share in (0, 1]."))
            .ToArray();
        var (itemTexts, queryTexts) = catalogue switch
        {
            "generated" => Generated(options.Int("items", 100_000, 1_000, 1_000_000), queryCount),
            "scientific" => Scientific(CliArguments.FromRepositoryRoot(options.Optional("input", "../shared/data/amazon-scientific-unisrec")), queryCount),
            _ => throw new CliException("--catalogue must be 'generated' or 'scientific'."),
        };

        var started = Stopwatch.GetTimestamp();
        var (items, queries, dimension) = Embed(itemTexts, queryTexts, options.Optional("cache", ""), options.Optional("data-dir", CliArguments.RepositoryDataDirectory()));
        Console.Error.WriteLine($"{catalogue}: {itemTexts.Count} items and {queryTexts.Count} queries embedded (or read) in {Stopwatch.GetElapsedTime(started).TotalSeconds:F0} s");

        var known = Enumerable.Repeat(true, itemTexts.Count).ToArray();
        var queryRows = Enumerable.Range(0, queryTexts.Count).Select(q => queries.AsSpan(q * dimension, dimension).ToArray()).ToArray();
        var exact = NearestItemSearch.Exact(items, known, dimension);
        var truth = queryRows.Select(query => exact.Search(query, Wanted).Select(f => f.Row).ToHashSet()).ToList();
        var exactMicroseconds = Time(queryRows, query => exact.Search(query, Wanted));

        var quantised = QuantisedScan.Build(items, itemTexts.Count, dimension);
        var quantisedRecall = queryRows.Select((query, q) => quantised.Search(query, Wanted).Count(truth[q].Contains) / (double)truth[q].Count).ToList();
        var quantisedMicroseconds = Time(queryRows, query => quantised.Search(query, Wanted));
        Console.Error.WriteLine($"int8 scan with exact re-scoring of the best {QuantisedScan.Rescored}×{Wanted}: recall@{Wanted} mean {quantisedRecall.Average():F4}; {quantisedMicroseconds:F0} µs per search");

        var clusters = (int)Math.Round(Math.Sqrt(itemTexts.Count));
        var buildStarted = Stopwatch.GetTimestamp();
        var built = NearestItemSearch.Clustered(items, known, dimension, clusters, shares[0], seed: itemTexts.Count);
        var buildSeconds = Stopwatch.GetElapsedTime(buildStarted).TotalSeconds;
        // What the server pays after each catalogue change under the same model: a rebuild from the last centroids.
        var rebuildStarted = Stopwatch.GetTimestamp();
        NearestItemSearch.Clustered(items, known, dimension, clusters, shares[0], seed: itemTexts.Count, start: built.Centroids);
        var rebuildSeconds = Stopwatch.GetElapsedTime(rebuildStarted).TotalSeconds;
        Console.Error.WriteLine($"{clusters} clusters built in {buildSeconds:F1} s (rebuilt from them in {rebuildSeconds:F1} s); exact scan {exactMicroseconds:F0} µs per search");

        var results = new List<object>();
        foreach (var share in shares)
        {
            var search = built.WithScanShare(share);
            var recalls = new List<double>();
            var scanned = new List<int>();
            for (var q = 0; q < queryRows.Length; q++)
            {
                var found = search.Search(queryRows[q], Wanted, out var rows);
                recalls.Add(found.Count(f => truth[q].Contains(f.Row)) / (double)truth[q].Count);
                scanned.Add(rows);
            }

            var microseconds = Time(queryRows, query => search.Search(query, Wanted));
            var sorted = recalls.Order().ToArray();
            Console.Error.WriteLine($"share {share}: recall@{Wanted} mean {recalls.Average():F4}, p10 {sorted[sorted.Length / 10]:F4}; {scanned.Average():F0} rows scanned; {microseconds:F0} µs per search");
            results.Add(new
            {
                scanShare = share,
                meanRecallAt60 = Math.Round(recalls.Average(), 4),
                p10RecallAt60 = Math.Round(sorted[sorted.Length / 10], 4),
                meanRowsScanned = Math.Round(scanned.Average()),
                medianMicrosecondsPerSearch = Math.Round(microseconds, 1),
            });
        }

        Console.WriteLine(JsonSerializer.Serialize(new
        {
            catalogue,
            items = itemTexts.Count,
            queries = queryTexts.Count,
            dimension,
            clusters,
            buildSeconds = Math.Round(buildSeconds, 2),
            rebuildFromCentroidsSeconds = Math.Round(rebuildSeconds, 2),
            exactMedianMicrosecondsPerSearch = Math.Round(exactMicroseconds, 1),
            quantisedScan = new
            {
                rescored = QuantisedScan.Rescored * Wanted,
                meanRecallAt60 = Math.Round(quantisedRecall.Average(), 4),
                p10RecallAt60 = Math.Round(quantisedRecall.Order().ElementAt(quantisedRecall.Count / 10), 4),
                medianMicrosecondsPerSearch = Math.Round(quantisedMicroseconds, 1),
            },
            clustered = results,
        }));
        return 0;
    }

    /// <summary>The median of five passes over all queries, per query, in microseconds.</summary>
    private static double Time(float[][] queries, Action<float[]> search)
    {
        var passes = new List<double>();
        for (var pass = 0; pass < 5; pass++)
        {
            var started = Stopwatch.GetTimestamp();
            foreach (var query in queries)
            {
                search(query);
            }

            passes.Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds / queries.Length);
        }

        return passes.Order().ElementAt(passes.Count / 2);
    }

    private static (List<string> Items, List<string> Queries) Generated(int count, int queries)
    {
        // The load script's generator: a category, a noun of it, two of twelve words and the running number.
        var random = new Random(17);
        var items = new List<string>(count);
        for (var i = 0; i < count; i++)
        {
            var (category, nouns) = Categories[random.Next(Categories.Length)];
            var word = Words[random.Next(Words.Length)];
            items.Add($"{char.ToUpperInvariant(word[0])}{word[1..]} {Words[random.Next(Words.Length)]} {nouns[random.Next(nouns.Length)]} {i} {category} Brand{random.Next(500)}");
        }

        var asked = new Random(29);
        var phrases = Enumerable.Range(0, queries).Select(_ =>
        {
            var first = Categories[asked.Next(Categories.Length)];
            var second = Categories[asked.Next(Categories.Length)];
            return $"{Words[asked.Next(Words.Length)]} {first.Nouns[asked.Next(3)]} {Words[asked.Next(Words.Length)]} {second.Nouns[asked.Next(3)]}";
        }).ToList();
        return (items, phrases);
    }

    private static (List<string> Items, List<string> Queries) Scientific(string directory, int queries)
    {
        if (!Directory.Exists(directory))
        {
            throw new CliException($"--input: no directory at '{directory}'.");
        }

        var data = SequenceDatasets.LoadUniSRec(directory, "Scientific");
        var texts = data.ItemTexts ?? throw new CliException("--input: the data set has no item texts.");
        var order = LeaveOneOutEvaluation.DeterministicUserOrder(data.Users.Count);
        var profiles = order.Take(queries).Select(u => string.Join(". ", data.Users[u].Train.TakeLast(3).Select(item => texts[item]))).ToList();
        return (texts.ToList(), profiles);
    }

    private static (float[] Items, float[] Queries, int Dimension) Embed(List<string> items, List<string> queries, string cache, string dataDirectory)
    {
        var (flat, size) = TextVectorCache.Embed([.. items, .. queries], cache, dataDirectory);
        return (flat[..(items.Count * size)], flat[(items.Count * size)..], size);
    }

    /// <summary>
    /// The other candidate the issue names, measured beside the clustered index: every item scanned, but as 8-bit
    /// integers (a quarter of the memory traffic, each row scaled by its largest component), the best few times the
    /// wanted rows then re-scored with the float vectors.
    /// </summary>
    private sealed class QuantisedScan
    {
        public const int Rescored = 4;

        private readonly sbyte[] codes;
        private readonly float[] scales;
        private readonly float[] vectors;
        private readonly int dimension;

        private QuantisedScan(sbyte[] codes, float[] scales, float[] vectors, int dimension) =>
            (this.codes, this.scales, this.vectors, this.dimension) = (codes, scales, vectors, dimension);

        public static QuantisedScan Build(float[] vectors, int count, int dimension)
        {
            if (dimension % 16 != 0)
            {
                throw new CliException($"the int8 scan needs a dimension divisible by 16, not {dimension}.");
            }

            var codes = new sbyte[count * dimension];
            var scales = new float[count];
            for (var row = 0; row < count; row++)
            {
                scales[row] = Quantise(vectors.AsSpan(row * dimension, dimension), codes.AsSpan(row * dimension, dimension));
            }

            return new QuantisedScan(codes, scales, vectors, dimension);
        }

        public List<int> Search(float[] query, int count)
        {
            Span<sbyte> code = stackalloc sbyte[dimension];
            Quantise(query, code);
            Span<short> widened = stackalloc short[dimension];
            for (var i = 0; i < dimension; i++)
            {
                widened[i] = code[i];
            }

            var keep = Rescored * count;
            var rough = new PriorityQueue<int, float>(keep + 1);
            for (var row = 0; row < scales.Length; row++)
            {
                var score = Dot(widened, codes.AsSpan(row * dimension, dimension)) * scales[row];
                if (rough.Count < keep)
                {
                    rough.Enqueue(row, score);
                }
                else if (rough.TryPeek(out _, out var worst) && score > worst)
                {
                    rough.DequeueEnqueue(row, score);
                }
            }

            var best = new PriorityQueue<int, float>(count + 1);
            while (rough.TryDequeue(out var row, out _))
            {
                var similarity = VectorMath.Dot(query, vectors.AsSpan(row * dimension, dimension));
                best.Enqueue(row, similarity);
                if (best.Count > count)
                {
                    best.Dequeue();
                }
            }

            var found = new List<int>(count);
            while (best.TryDequeue(out var row, out _))
            {
                found.Add(row);
            }

            return found;
        }

        private static float Quantise(ReadOnlySpan<float> vector, Span<sbyte> code)
        {
            var largest = 1e-12f;
            foreach (var value in vector)
            {
                largest = Math.Max(largest, Math.Abs(value));
            }

            for (var i = 0; i < vector.Length; i++)
            {
                code[i] = (sbyte)Math.Round(vector[i] / largest * 127f);
            }

            return largest / 127f;
        }

        private static int Dot(ReadOnlySpan<short> query, ReadOnlySpan<sbyte> row)
        {
            var total = 0;
            var i = 0;
            if (Avx2.IsSupported)
            {
                var sums = Vector256<int>.Zero;
                for (; i + 16 <= row.Length; i += 16)
                {
                    var widenedRow = Avx2.ConvertToVector256Int16(Vector128.Create(row.Slice(i, 16)));
                    var widenedQuery = Vector256.Create(query.Slice(i, 16));
                    sums = Avx2.Add(sums, Avx2.MultiplyAddAdjacent(widenedRow, widenedQuery));
                }

                total = Vector256.Sum(sums);
            }

            for (; i < row.Length; i++)
            {
                total += query[i] * row[i];
            }

            return total;
        }
    }
}
