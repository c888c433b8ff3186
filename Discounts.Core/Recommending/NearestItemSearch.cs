using Discounts.Core.Scoring;

namespace Discounts.Core.Recommending;

/// <summary>
/// The catalogue rows whose vectors have the largest dot product with a query (vectors are unit length, so cosine).
/// The exact search scans every known row. The clustered one (an inverted file) groups the rows by spherical k-means
/// and scans only the clusters whose centroids are nearest the query, so 100,000 items cost a few thousand dot
/// products instead of 100,000; its recall against the exact scan is measured by <c>evaluate-vector-search</c>.
/// </summary>
public sealed class NearestItemSearch
{
    private readonly float[] vectors;
    private readonly int dimension;
    private readonly int[] rows;
    private readonly int[] clusterStarts;
    private readonly float[] centroids;
    private readonly double scanShare;

    private NearestItemSearch(float[] vectors, int dimension, int[] rows, int[] clusterStarts, float[] centroids, double scanShare)
    {
        this.vectors = vectors;
        this.dimension = dimension;
        this.rows = rows;
        this.clusterStarts = clusterStarts;
        this.centroids = centroids;
        this.scanShare = scanShare;
    }

    /// <summary>Clusters of the inverted file; 0 for the exact search.</summary>
    public int Clusters => centroids.Length / Math.Max(1, dimension);

    /// <summary>The share of the items a clustered search scans at least (nearest clusters first); 1 for the exact search.</summary>
    public double ScanShare => scanShare;

    public int Items => rows.Length;

    /// <summary>
    /// Rows a search for <paramref name="count"/> scans at least: the scan share of the items, and never fewer than
    /// 16 per row wanted, so a small catalogue is not searched through a keyhole.
    /// </summary>
    public int MinimumScanned(int count) => centroids.Length == 0 ? rows.Length : Math.Min(rows.Length, Math.Max((int)Math.Ceiling(scanShare * rows.Length), 16 * count));

    /// <summary>The centroids, so a rebuild for a changed catalogue under the same model can start from them.</summary>
    public ReadOnlyMemory<float> Centroids => centroids;

    /// <summary>The same clusters, scanning another share.</summary>
    public NearestItemSearch WithScanShare(double share) => new(vectors, dimension, rows, clusterStarts, centroids, Math.Clamp(share, 0, 1));

    public static NearestItemSearch Exact(float[] vectors, bool[] known, int dimension) => new(vectors, dimension, KnownRows(known), [], [], 1);

    private static int[] KnownRows(bool[] known) => Enumerable.Range(0, known.Length).Where(row => known[row]).ToArray();

    /// <summary>
    /// Spherical k-means over the known rows: trained on a sample of at most 64 rows per cluster, then every row is
    /// assigned to its nearest centroid. Deterministic for a seed. <paramref name="start"/> (centroids of an earlier
    /// build with the same dimension) replaces the random start and most of the training.
    /// </summary>
    public static NearestItemSearch Clustered(
        float[] vectors, bool[] known, int dimension, int clusters, double scanShare, int seed, ReadOnlyMemory<float> start = default, int iterations = 8)
    {
        var members = KnownRows(known);
        clusters = Math.Clamp(clusters, 1, Math.Max(1, members.Length));
        var random = new Random(seed);
        var sample = (int[])members.Clone();
        random.Shuffle(sample);
        sample = sample[..Math.Min(sample.Length, 64 * clusters)];

        var centroids = new float[clusters * dimension];
        if (start.Length == centroids.Length)
        {
            start.Span.CopyTo(centroids);
            iterations = Math.Min(iterations, 2);
        }
        else
        {
            for (var c = 0; c < clusters; c++)
            {
                vectors.AsSpan(sample[c % sample.Length] * dimension, dimension).CopyTo(centroids.AsSpan(c * dimension, dimension));
            }
        }

        var assigned = new int[sample.Length];
        for (var iteration = 0; iteration < iterations; iteration++)
        {
            for (var i = 0; i < sample.Length; i++)
            {
                assigned[i] = NearestCentroid(centroids, clusters, dimension, vectors.AsSpan(sample[i] * dimension, dimension));
            }

            Recentre(vectors, dimension, sample, assigned, centroids, clusters, random);
        }

        var clusterOf = new int[members.Length];
        var starts = new int[clusters + 1];
        for (var i = 0; i < members.Length; i++)
        {
            clusterOf[i] = NearestCentroid(centroids, clusters, dimension, vectors.AsSpan(members[i] * dimension, dimension));
            starts[clusterOf[i] + 1]++;
        }

        for (var c = 0; c < clusters; c++)
        {
            starts[c + 1] += starts[c];
        }

        var grouped = new int[members.Length];
        var next = starts[..clusters];
        for (var i = 0; i < members.Length; i++)
        {
            grouped[next[clusterOf[i]]++] = members[i];
        }

        return new NearestItemSearch(vectors, dimension, grouped, starts, centroids, Math.Clamp(scanShare, 0, 1));
    }

    /// <summary>
    /// The best <paramref name="count"/> rows with their similarity, worst first (the order a min-heap yields them). The
    /// exact search visits rows in row order, so ties resolve as they always have.
    /// </summary>
    public List<(int Row, float Similarity)> Search(ReadOnlySpan<float> query, int count) => Search(query, count, out _);

    /// <inheritdoc cref="Search(ReadOnlySpan{float}, int)"/>
    /// <param name="scanned">How many rows were compared with the query.</param>
    public List<(int Row, float Similarity)> Search(ReadOnlySpan<float> query, int count, out int scanned)
    {
        var best = new PriorityQueue<int, float>(count + 1);
        if (centroids.Length == 0)
        {
            Scan(query, rows, best, count);
            scanned = rows.Length;
        }
        else
        {
            var wanted = MinimumScanned(count);
            scanned = 0;
            foreach (var cluster in ClustersByNearness(query))
            {
                if (scanned >= wanted)
                {
                    break;
                }

                var members = rows.AsSpan(clusterStarts[cluster], clusterStarts[cluster + 1] - clusterStarts[cluster]);
                Scan(query, members, best, count);
                scanned += members.Length;
            }
        }

        var found = new List<(int Row, float Similarity)>(best.Count);
        while (best.TryDequeue(out var row, out var similarity))
        {
            found.Add((row, similarity));
        }

        return found;
    }

    private void Scan(ReadOnlySpan<float> query, ReadOnlySpan<int> scanned, PriorityQueue<int, float> best, int count)
    {
        foreach (var row in scanned)
        {
            var similarity = VectorMath.Dot(query, vectors.AsSpan(row * dimension, dimension));
            if (best.Count < count)
            {
                best.Enqueue(row, similarity);
            }
            else if (best.TryPeek(out _, out var worst) && similarity > worst)
            {
                best.DequeueEnqueue(row, similarity);
            }
        }
    }

    private int[] ClustersByNearness(ReadOnlySpan<float> query)
    {
        var clusters = Clusters;
        var keys = new float[clusters];
        var order = new int[clusters];
        for (var c = 0; c < clusters; c++)
        {
            keys[c] = -VectorMath.Dot(query, centroids.AsSpan(c * dimension, dimension));
            order[c] = c;
        }

        Array.Sort(keys, order);
        return order;
    }

    private static int NearestCentroid(float[] centroids, int clusters, int dimension, ReadOnlySpan<float> vector)
    {
        var best = 0;
        var bestSimilarity = float.NegativeInfinity;
        for (var c = 0; c < clusters; c++)
        {
            var similarity = VectorMath.Dot(vector, centroids.AsSpan(c * dimension, dimension));
            if (similarity > bestSimilarity)
            {
                (best, bestSimilarity) = (c, similarity);
            }
        }

        return best;
    }

    /// <summary>Each centroid becomes the normalised mean of its members; an empty cluster restarts at a random sampled row.</summary>
    private static void Recentre(float[] vectors, int dimension, int[] sample, int[] assigned, float[] centroids, int clusters, Random random)
    {
        var sums = new float[centroids.Length];
        var sizes = new int[clusters];
        for (var i = 0; i < sample.Length; i++)
        {
            var sum = sums.AsSpan(assigned[i] * dimension, dimension);
            var vector = vectors.AsSpan(sample[i] * dimension, dimension);
            for (var d = 0; d < dimension; d++)
            {
                sum[d] += vector[d];
            }

            sizes[assigned[i]]++;
        }

        for (var c = 0; c < clusters; c++)
        {
            var centroid = centroids.AsSpan(c * dimension, dimension);
            if (sizes[c] == 0)
            {
                vectors.AsSpan(sample[random.Next(sample.Length)] * dimension, dimension).CopyTo(centroid);
                continue;
            }

            var sum = sums.AsSpan(c * dimension, dimension);
            var norm = MathF.Sqrt(VectorMath.Dot(sum, sum));
            for (var d = 0; norm > 0 && d < dimension; d++)
            {
                centroid[d] = sum[d] / norm;
            }
        }
    }
}
