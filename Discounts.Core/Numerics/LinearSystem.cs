namespace Discounts.Core.Numerics;

public static class LinearSystem
{
    /// <summary>Gaussian elimination with partial pivoting, for the small positive definite systems of least squares.</summary>
    public static double[] Solve(double[,] matrix, double[] vector)
    {
        var n = vector.Length;
        var a = (double[,])matrix.Clone();
        var b = (double[])vector.Clone();
        for (var column = 0; column < n; column++)
        {
            var pivot = column;
            for (var row = column + 1; row < n; row++)
            {
                if (Math.Abs(a[row, column]) > Math.Abs(a[pivot, column]))
                {
                    pivot = row;
                }
            }

            for (var k = 0; k < n; k++)
            {
                (a[column, k], a[pivot, k]) = (a[pivot, k], a[column, k]);
            }

            (b[column], b[pivot]) = (b[pivot], b[column]);
            for (var row = column + 1; row < n; row++)
            {
                var factor = a[row, column] / a[column, column];
                if (factor == 0)
                {
                    continue;
                }

                for (var k = column; k < n; k++)
                {
                    a[row, k] -= factor * a[column, k];
                }

                b[row] -= factor * b[column];
            }
        }

        var solution = new double[n];
        for (var row = n - 1; row >= 0; row--)
        {
            var sum = b[row];
            for (var k = row + 1; k < n; k++)
            {
                sum -= a[row, k] * solution[k];
            }

            solution[row] = sum / a[row, row];
        }

        return solution;
    }
}
