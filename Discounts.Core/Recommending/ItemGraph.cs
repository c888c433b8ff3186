namespace Discounts.Core.Recommending;

/// <summary>
/// A sparse weighted item-to-item graph in compressed rows: the neighbours of item i are
/// <c>Targets[Offsets[i]..Offsets[i+1]]</c> with their <c>Weights</c>.
/// </summary>
public sealed class ItemGraph
{
    private ItemGraph(int[] offsets, int[] targets, float[] weights)
    {
        Offsets = offsets;
        Targets = targets;
        Weights = weights;
    }

    public int[] Offsets { get; }

    public int[] Targets { get; }

    public float[] Weights { get; }

    public int ItemCount => Offsets.Length - 1;

    public int EdgeCount => Targets.Length;

    public ReadOnlySpan<int> Neighbours(int item) => Targets.AsSpan(Offsets[item], Offsets[item + 1] - Offsets[item]);

    public ReadOnlySpan<float> NeighbourWeights(int item) => Weights.AsSpan(Offsets[item], Offsets[item + 1] - Offsets[item]);

    /// <summary>
    /// Sequential co-occurrence: within each sequence, a later item up to <see cref="CoOccurrenceOptions.Window"/>
    /// positions after an earlier one adds 1/distance (or 1) to earlier→later, and <see cref="CoOccurrenceOptions.ReverseWeight"/>
    /// times that to later→earlier. Each edge is then divided by the target's popularity^exponent, so that popular
    /// items do not crowd out the specific ones.
    /// </summary>
    public static ItemGraph CoOccurrence(IEnumerable<int[]> sequences, int itemCount, CoOccurrenceOptions options)
    {
        var rows = NewRows(itemCount);
        var popularity = new int[itemCount];
        foreach (var sequence in sequences)
        {
            for (var i = 0; i < sequence.Length; i++)
            {
                popularity[sequence[i]]++;
                var last = Math.Min(sequence.Length - 1, i + options.Window);
                for (var j = i + 1; j <= last; j++)
                {
                    if (sequence[j] == sequence[i])
                    {
                        continue;
                    }

                    var weight = options.WeightByDistance ? 1f / (j - i) : 1f;
                    Add(rows[sequence[i]], sequence[j], weight);
                    if (options.ReverseWeight > 0)
                    {
                        Add(rows[sequence[j]], sequence[i], options.ReverseWeight * weight);
                    }
                }
            }
        }

        var divisor = popularity.Select(p => options.PopularityExponent == 0 ? 1f : MathF.Pow(Math.Max(1, p), options.PopularityExponent)).ToArray();
        return FromRows(rows, (_, target, weight) => weight / divisor[target], maxNeighbours: int.MaxValue);
    }

    /// <summary>
    /// Two steps along the graph with each row scaled to sum 1 (a random walk's transition probabilities), keeping each
    /// item's <paramref name="maxNeighbours"/> strongest two-step neighbours. It reaches items never seen next to the
    /// history but next to its neighbours.
    /// </summary>
    public ItemGraph TwoStep(int maxNeighbours)
    {
        var rowSums = new float[ItemCount];
        for (var item = 0; item < ItemCount; item++)
        {
            foreach (var weight in NeighbourWeights(item))
            {
                rowSums[item] += weight;
            }
        }

        var rows = NewRows(ItemCount);
        var accumulator = new float[ItemCount];
        var touched = new List<int>();
        for (var item = 0; item < ItemCount; item++)
        {
            var first = Neighbours(item);
            var firstWeights = NeighbourWeights(item);
            for (var a = 0; a < first.Length; a++)
            {
                var middle = first[a];
                var step = firstWeights[a] / rowSums[item] / rowSums[middle];
                var second = Neighbours(middle);
                var secondWeights = NeighbourWeights(middle);
                for (var b = 0; b < second.Length; b++)
                {
                    var target = second[b];
                    if (target == item)
                    {
                        continue;
                    }

                    if (accumulator[target] == 0)
                    {
                        touched.Add(target);
                    }

                    accumulator[target] += step * secondWeights[b];
                }
            }

            foreach (var target in touched)
            {
                rows[item][target] = accumulator[target];
                accumulator[target] = 0;
            }

            touched.Clear();
        }

        return FromRows(rows, (_, _, weight) => weight, maxNeighbours);
    }

    /// <summary>Builds a graph from explicit rows (source → target → weight), keeping each row's strongest edges.</summary>
    public static ItemGraph FromRows(Dictionary<int, float>[] rows, Func<int, int, float, float> finalWeight, int maxNeighbours)
    {
        var offsets = new int[rows.Length + 1];
        var targets = new List<int>();
        var weights = new List<float>();
        for (var item = 0; item < rows.Length; item++)
        {
            var row = rows[item].Select(edge => (Target: edge.Key, Weight: finalWeight(item, edge.Key, edge.Value)))
                .OrderByDescending(edge => edge.Weight).ThenBy(edge => edge.Target)
                .Take(maxNeighbours);
            foreach (var (target, weight) in row)
            {
                targets.Add(target);
                weights.Add(weight);
            }

            offsets[item + 1] = targets.Count;
        }

        return new ItemGraph(offsets, [.. targets], [.. weights]);
    }

    internal static Dictionary<int, float>[] NewRows(int itemCount)
    {
        var rows = new Dictionary<int, float>[itemCount];
        for (var i = 0; i < itemCount; i++)
        {
            rows[i] = [];
        }

        return rows;
    }

    private static void Add(Dictionary<int, float> row, int target, float weight) =>
        row[target] = row.GetValueOrDefault(target) + weight;
}

/// <param name="Window">Pairs up to this many positions apart count.</param>
/// <param name="WeightByDistance">Weight a pair 1/distance instead of 1.</param>
/// <param name="ReverseWeight">Weight of the later→earlier direction relative to earlier→later (0: forward only).</param>
/// <param name="PopularityExponent">Divide each edge by the target's popularity to this power (0: raw counts).</param>
public sealed record CoOccurrenceOptions(int Window = 3, bool WeightByDistance = true, float ReverseWeight = 0.5f, float PopularityExponent = 0.3f)
{
    /// <summary>The in-house baseline: adjacent pairs, forward only, raw counts.</summary>
    public static CoOccurrenceOptions Adjacent { get; } = new(Window: 1, WeightByDistance: false, ReverseWeight: 0, PopularityExponent: 0);
}
