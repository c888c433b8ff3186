namespace Discounts.Core.Ranking;

/// <summary>How often each item occurs in the training sequences, scaled so the most popular item scores 1.</summary>
public sealed class PopularitySource : CandidateSource
{
    private readonly float[] normalised;

    public PopularitySource(IEnumerable<int[]> sequences, int itemCount)
        : base("popularity", itemCount)
    {
        Counts = ItemCounts(sequences, itemCount);
        var max = Math.Max(1, Counts.Max());
        normalised = Counts.Select(c => (float)c / max).ToArray();
    }

    public int[] Counts { get; }

    public override bool DependsOnHistory => false;

    public override void AddScores(ReadOnlySpan<int> history, float weight, float[] scores)
    {
        for (var item = 0; item < normalised.Length; item++)
        {
            scores[item] += weight * normalised[item];
        }
    }

    public static int[] ItemCounts(IEnumerable<int[]> sequences, int itemCount)
    {
        var counts = new int[itemCount];
        foreach (var sequence in sequences)
        {
            foreach (var item in sequence)
            {
                counts[item]++;
            }
        }

        return counts;
    }
}
