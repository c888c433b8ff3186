namespace Discounts.Core.Profiling;

/// <summary>A term's live document count as scoring reads it.</summary>
/// <param name="Admitted">In the vocabulary, so its count is trusted; otherwise it is weighted as a term seen once.</param>
public readonly record struct TermCount(int Documents, bool Admitted);

/// <summary>
/// IDF from the live document counts rather than from the last fit, so a word the fitted vocabulary has never seen
/// still weighs in a profile at once. A term in the vocabulary gets ln(N / df) over every text counted so far; any
/// other term is weighted as if seen once, ln(N), until enough distinct users write it to be trusted; a term in more
/// than the vocabulary's share of texts (as at fit time) says nothing about anyone and is never a keyword.
/// </summary>
public sealed class TermStatistics(int documents, long version, IReadOnlyDictionary<string, TermCount> terms, TextModelOptions rules)
{
    /// <summary>N, the texts counted.</summary>
    public int Documents { get; } = Math.Max(1, documents);

    /// <summary>The vocabulary version these counts belong to; profiles record it.</summary>
    public long Version { get; } = version;

    /// <summary>The term's IDF, or null when it is in too many texts to describe anyone.</summary>
    public double? Idf(string term)
    {
        if (!terms.TryGetValue(term, out var count))
        {
            return Math.Log(Documents);
        }

        if (count.Documents > MaxDocuments(Documents, rules))
        {
            return null;
        }

        return count.Admitted && count.Documents > 0 ? Math.Log((double)Documents / count.Documents) : Math.Log(Documents);
    }

    /// <summary>The vocabulary's own upper rule, as <see cref="TextProfileModel.ChooseVocabulary(IReadOnlyList{IReadOnlyList{string}}, TextModelOptions)"/> applies it.</summary>
    public static int MaxDocuments(int documents, TextModelOptions rules) =>
        Math.Max(rules.MinDocumentFrequency, (int)(rules.MaxDocumentShare * documents));

    /// <summary>
    /// The strongest TF-IDF terms of one document (a user's texts, tokenised), every term counted, L2-normalised
    /// weights rounded to 4 places; ties go to the term first in ordinal order, as in the fitted model's scoring.
    /// </summary>
    public List<WeightedTerm> Keywords(IReadOnlyList<string> document, int count)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var token in document)
        {
            counts[token] = counts.GetValueOrDefault(token) + 1;
        }

        var weighted = new List<(string Term, float Weight)>(counts.Count);
        foreach (var (term, occurrences) in counts)
        {
            // A term in too many texts to describe anyone is left out of the norm as well.
            if (Idf(term) is { } idf)
            {
                weighted.Add((term, (float)(occurrences * idf)));
            }
        }

        return KeywordRanking.Top(weighted, count);
    }
}
