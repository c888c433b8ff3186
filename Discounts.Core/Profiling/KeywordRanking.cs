namespace Discounts.Core.Profiling;

/// <summary>The one way keywords are chosen from weighted terms, for the fitted model and the live counts alike.</summary>
public static class KeywordRanking
{
    /// <summary>
    /// The strongest positive terms, weights L2-normalised over every given term and rounded to 4 places; ties go to the
    /// term first in ordinal order. Weights are floats like ML.NET's TF-IDF column, so ties come out as they do there.
    /// </summary>
    public static List<WeightedTerm> Top(List<(string Term, float Weight)> weighted, int count)
    {
        double norm = 0;
        foreach (var (_, weight) in weighted)
        {
            norm += weight * weight;
        }

        norm = Math.Sqrt(norm);
        var positive = weighted.Where(w => w.Weight > 0).ToList();
        positive.Sort((a, b) => a.Weight != b.Weight ? b.Weight.CompareTo(a.Weight) : string.CompareOrdinal(a.Term, b.Term));
        return positive.Take(count).Select(w => new WeightedTerm(w.Term, Math.Round(w.Weight / norm, 4))).ToList();
    }
}
