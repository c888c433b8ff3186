namespace Discounts.Core.Numerics;

/// <summary>The leading principal directions of standardised columns, and the projection of a row onto them.</summary>
public sealed record PrincipalComponents(double[] Means, double[] Scales, IReadOnlyList<double[]> Directions)
{
    public int Count => Directions.Count;

    public double[] Project(IReadOnlyList<double> row) =>
        Directions.Select(direction =>
        {
            var sum = 0.0;
            for (var j = 0; j < direction.Length; j++)
            {
                sum += direction[j] * (row[j] - Means[j]) / Scales[j];
            }

            return sum;
        }).ToArray();

    /// <summary>
    /// The <paramref name="count"/> leading eigenvectors of the correlation matrix, by power iteration with deflation:
    /// a few directions of a few hundred columns, so the whole spectrum is not needed.
    /// </summary>
    public static PrincipalComponents Leading(IReadOnlyList<double[]> rows, int count, int seed, int iterations = 200)
    {
        var k = rows[0].Length;
        var means = new double[k];
        foreach (var row in rows)
        {
            for (var j = 0; j < k; j++)
            {
                means[j] += row[j] / rows.Count;
            }
        }

        var scales = new double[k];
        foreach (var row in rows)
        {
            for (var j = 0; j < k; j++)
            {
                scales[j] += (row[j] - means[j]) * (row[j] - means[j]) / rows.Count;
            }
        }

        for (var j = 0; j < k; j++)
        {
            scales[j] = scales[j] > 1e-12 ? Math.Sqrt(scales[j]) : double.PositiveInfinity;
        }

        var correlation = new double[k, k];
        var z = new double[k];
        foreach (var row in rows)
        {
            for (var j = 0; j < k; j++)
            {
                z[j] = (row[j] - means[j]) / scales[j];
            }

            for (var a = 0; a < k; a++)
            {
                for (var b = a; b < k; b++)
                {
                    correlation[a, b] += z[a] * z[b] / rows.Count;
                }
            }
        }

        for (var a = 0; a < k; a++)
        {
            for (var b = 0; b < a; b++)
            {
                correlation[a, b] = correlation[b, a];
            }
        }

        var random = new Random(seed);
        var directions = new List<double[]>();
        for (var c = 0; c < Math.Min(count, k); c++)
        {
            var vector = Enumerable.Range(0, k).Select(_ => random.NextDouble() - 0.5).ToArray();
            var eigenvalue = 0.0;
            for (var iteration = 0; iteration < iterations; iteration++)
            {
                var next = new double[k];
                for (var a = 0; a < k; a++)
                {
                    var sum = 0.0;
                    for (var b = 0; b < k; b++)
                    {
                        sum += correlation[a, b] * vector[b];
                    }

                    next[a] = sum;
                }

                var norm = Math.Sqrt(next.Sum(v => v * v));
                if (norm < 1e-12)
                {
                    break;
                }

                eigenvalue = norm;
                vector = next.Select(v => v / norm).ToArray();
            }

            directions.Add(vector);
            // Deflation: take this direction out so the next iteration finds the one after it.
            for (var a = 0; a < k; a++)
            {
                for (var b = 0; b < k; b++)
                {
                    correlation[a, b] -= eigenvalue * vector[a] * vector[b];
                }
            }
        }

        return new PrincipalComponents(means, scales, directions);
    }
}
