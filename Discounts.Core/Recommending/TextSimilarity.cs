namespace Discounts.Core.Recommending;

/// <summary>
/// Item-to-item similarity of item texts (title, categories, brand): cosine of TF-IDF vectors, each item keeping its
/// strongest neighbours. It links items that no user has bought together yet, such as new or rare ones.
/// </summary>
public static class TextSimilarity
{
    private const int MaxPostingsPerTerm = 2_000;

    /// <param name="maxDocumentShare">Terms in more than this share of the items are dropped: they barely tell items apart and cost the most.</param>
    public static ItemGraph Graph(IReadOnlyList<string> itemTexts, int maxNeighbours = 50, double maxDocumentShare = 0.1)
    {
        var documents = itemTexts.Select(Tokens).ToArray();
        var documentFrequency = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var document in documents)
        {
            foreach (var term in document.Keys)
            {
                documentFrequency[term] = documentFrequency.GetValueOrDefault(term) + 1;
            }
        }

        var itemCount = itemTexts.Count;
        // Capped too, so a term shared by thousands of items in a large catalogue does not make the build quadratic.
        var maxFrequency = Math.Min(MaxPostingsPerTerm, Math.Max(2, (int)(maxDocumentShare * itemCount)));
        var termIds = new Dictionary<string, int>(StringComparer.Ordinal);
        var postings = new List<List<(int Item, float Weight)>>();
        var vectors = new (int Term, float Weight)[itemCount][];
        for (var item = 0; item < itemCount; item++)
        {
            var vector = new List<(int Term, float Weight)>();
            foreach (var (term, count) in documents[item])
            {
                var frequency = documentFrequency[term];
                if (frequency < 2 || frequency > maxFrequency)
                {
                    continue;
                }

                vector.Add((TermId(term), (float)((1 + Math.Log(count)) * Math.Log((double)itemCount / frequency))));
            }

            var norm = MathF.Sqrt(vector.Sum(t => t.Weight * t.Weight));
            vectors[item] = vector.Select(t => (t.Term, t.Weight / norm)).ToArray();
            foreach (var (term, weight) in vectors[item])
            {
                postings[term].Add((item, weight));
            }
        }

        var rows = ItemGraph.NewRows(itemCount);
        var dots = new float[itemCount];
        var touched = new List<int>();
        for (var item = 0; item < itemCount; item++)
        {
            foreach (var (term, weight) in vectors[item])
            {
                foreach (var (other, otherWeight) in postings[term])
                {
                    if (other == item)
                    {
                        continue;
                    }

                    if (dots[other] == 0)
                    {
                        touched.Add(other);
                    }

                    dots[other] += weight * otherWeight;
                }
            }

            foreach (var other in touched)
            {
                rows[item][other] = dots[other];
                dots[other] = 0;
            }

            touched.Clear();
        }

        return ItemGraph.FromRows(rows, (_, _, weight) => weight, maxNeighbours);

        int TermId(string term)
        {
            if (!termIds.TryGetValue(term, out var id))
            {
                id = termIds.Count;
                termIds[term] = id;
                postings.Add([]);
            }

            return id;
        }
    }

    /// <summary>Lower-case runs of letters and digits (two characters or more) with their counts.</summary>
    public static Dictionary<string, int> Tokens(string text)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        var start = -1;
        for (var i = 0; i <= text.Length; i++)
        {
            var inToken = i < text.Length && char.IsLetterOrDigit(text[i]);
            if (inToken && start < 0)
            {
                start = i;
            }
            else if (!inToken && start >= 0)
            {
                if (i - start >= 2)
                {
                    var token = text[start..i].ToLowerInvariant();
                    counts[token] = counts.GetValueOrDefault(token) + 1;
                }

                start = -1;
            }
        }

        return counts;
    }
}
