using Discounts.Core.Recommending;

namespace Discounts.Tests.Core.Recommending;

public sealed class NearestItemSearchTests
{
    private const int Dimension = 32;

    /// <summary>Unit vectors around <paramref name="centres"/> random directions, as item texts of a few kinds embed.</summary>
    private static float[] Clustered(int rows, int centres, Random random)
    {
        var centre = Enumerable.Range(0, centres).Select(_ => Enumerable.Range(0, Dimension).Select(_ => (float)random.NextDouble() - 0.5f).ToArray()).ToArray();
        var vectors = new float[rows * Dimension];
        for (var row = 0; row < rows; row++)
        {
            var from = centre[random.Next(centres)];
            var vector = vectors.AsSpan(row * Dimension, Dimension);
            for (var d = 0; d < Dimension; d++)
            {
                vector[d] = from[d] + 0.15f * ((float)random.NextDouble() - 0.5f);
            }

            var norm = MathF.Sqrt(vector.ToArray().Sum(x => x * x));
            for (var d = 0; d < Dimension; d++)
            {
                vector[d] /= norm;
            }
        }

        return vectors;
    }

    private static List<int> Naive(float[] vectors, bool[] known, float[] query, int count) => Enumerable.Range(0, known.Length).Where(row => known[row])
        .OrderByDescending(row => Enumerable.Range(0, Dimension).Sum(d => (double)vectors[row * Dimension + d] * query[d])).ThenBy(row => row)
        .Take(count).ToList();

    [Test]
    public void Search_WhenExact_FindsTheTopRowsOfAScanOverEveryKnownRowWorstFirst()
    {
        var random = new Random(3);
        var vectors = Clustered(2_000, 20, random);
        var known = Enumerable.Range(0, 2_000).Select(row => row % 7 != 0).ToArray();
        var query = vectors.AsSpan(5 * Dimension, Dimension).ToArray();

        var found = NearestItemSearch.Exact(vectors, known, Dimension).Search(query, 60);

        Assert.Multiple(() =>
        {
            Assert.That(found.Select(f => f.Row).ToHashSet(), Is.EquivalentTo(Naive(vectors, known, query, 60)));
            Assert.That(found.Select(f => f.Similarity), Is.Ordered.Ascending);
            Assert.That(found.Select(f => f.Row), Has.None.Matches<int>(row => !known[row]), "rows never embedded are never found");
        });
    }

    [Test]
    public void Search_WhenClusteredOnClusteredData_FindsAtLeast95PercentOfTheExactTop60WhileScanningAFraction()
    {
        var random = new Random(5);
        var vectors = Clustered(20_000, 150, random);
        var known = Enumerable.Repeat(true, 20_000).ToArray();
        var exact = NearestItemSearch.Exact(vectors, known, Dimension);
        var clustered = NearestItemSearch.Clustered(vectors, known, Dimension, clusters: 141, scanShare: 0.08, seed: 1);
        var queries = Enumerable.Range(0, 200).Select(_ => vectors.AsSpan(random.Next(20_000) * Dimension, Dimension).ToArray()).ToList();

        var recalls = new List<double>();
        var scanned = new List<int>();
        foreach (var query in queries)
        {
            var truth = exact.Search(query, 60).Select(f => f.Row).ToHashSet();
            recalls.Add(clustered.Search(query, 60, out var rows).Count(f => truth.Contains(f.Row)) / 60.0);
            scanned.Add(rows);
        }

        Assert.Multiple(() =>
        {
            Assert.That(recalls.Average(), Is.GreaterThanOrEqualTo(0.95));
            Assert.That(scanned.Average(), Is.LessThan(0.15 * 20_000), "a search reads a small share of the rows");
            Assert.That(clustered.Clusters, Is.EqualTo(141));
        });
    }

    [Test]
    public void Search_WhenTheScanShareIsEverything_EqualsTheExactScan()
    {
        var random = new Random(7);
        var vectors = Clustered(3_000, 30, random);
        var known = Enumerable.Range(0, 3_000).Select(row => row % 5 != 0).ToArray();
        var clustered = NearestItemSearch.Clustered(vectors, known, Dimension, clusters: 55, scanShare: 1, seed: 2);
        var query = vectors.AsSpan(11 * Dimension, Dimension).ToArray();

        Assert.That(clustered.Search(query, 60).Select(f => f.Row).ToHashSet(), Is.EquivalentTo(Naive(vectors, known, query, 60)));
    }

    [Test]
    public void Clustered_WhenBuiltTwiceWithOneSeed_SearchesAlike()
    {
        var vectors = Clustered(5_000, 40, new Random(9));
        var known = Enumerable.Repeat(true, 5_000).ToArray();
        var query = vectors.AsSpan(42 * Dimension, Dimension).ToArray();

        var first = NearestItemSearch.Clustered(vectors, known, Dimension, 70, 0.05, seed: 4).Search(query, 30);
        var second = NearestItemSearch.Clustered(vectors, known, Dimension, 70, 0.05, seed: 4).Search(query, 30);

        Assert.That(second, Is.EqualTo(first));
    }
}
