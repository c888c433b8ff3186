namespace Discounts.Core.Profiling;

/// <summary>
/// Scores documents against a fitted text model without ML.NET: TF-IDF with the IDF weights the fit learned, and the
/// topic mixture by a deterministic fold-in over the fitted topic-word matrix, with the topics held fixed.
/// <para>
/// ML.NET's own LDA scoring samples every token for ten burn-in sweeps behind one lock per transformer, and its
/// IDataView pipeline costs more again per row; together they made per-user scoring slower than scikit-learn's. The
/// fold-in here iterates the expected topic counts, n_dk = Σ_w c_w · φ_kw (n_dk + α) / Σ_k' φ_k'w (n_dk' + α), the
/// average of what LightLDA's sampler draws, so a document always gets the same mixture and no sampling noise.
/// </para>
/// </summary>
public sealed class TopicInference
{
    /// <summary>scikit-learn's own E-step limits (max_doc_update_iter, mean_change_tol): at most 100 passes, stopping once the mixture moves less than 1e-3 per topic on average.</summary>
    private const int MaxIterations = 100;
    private const double MeanChangeTolerance = 1e-3;
    private const int FormatVersion = 1;

    private readonly Dictionary<string, int> termIndex;
    private readonly string[] terms;
    private readonly double[] idf;
    /// <summary>φ, word-major: the K topic probabilities of word w at [w·K, (w+1)·K), so one word's row is one cache line or two.</summary>
    private readonly double[] wordTopics;
    private readonly double alpha;

    private TopicInference(string[] terms, double[] idf, double[] wordTopics, int topicCount, double alpha)
    {
        this.terms = terms;
        this.idf = idf;
        this.wordTopics = wordTopics;
        TopicCount = topicCount;
        this.alpha = alpha;
        termIndex = new Dictionary<string, int>(terms.Length, StringComparer.Ordinal);
        for (var i = 0; i < terms.Length; i++)
        {
            termIndex[terms[i]] = i;
        }
    }

    public int TopicCount { get; }

    /// <summary>
    /// Builds the scorer from the fit. <paramref name="documentFrequency"/> and <paramref name="documentCount"/> give
    /// ML.NET's IDF, ln(N / df). <paramref name="topicWords"/> is, per topic, every word LightLDA assigned to it with
    /// its probability (n_kw + β) / (n_k + Vβ); the words a topic never drew share the rest of its mass evenly, which
    /// is exactly β / (n_k + Vβ) each.
    /// </summary>
    public static TopicInference Create(
        IReadOnlyList<string> vocabulary,
        IReadOnlyDictionary<string, int> documentFrequency,
        int documentCount,
        IReadOnlyList<IReadOnlyList<(string Word, float Probability)>> topicWords,
        double alphaSum)
    {
        var terms = vocabulary.ToArray();
        var index = new Dictionary<string, int>(terms.Length, StringComparer.Ordinal);
        for (var i = 0; i < terms.Length; i++)
        {
            index[terms[i]] = i;
        }

        var idf = new double[terms.Length];
        for (var i = 0; i < terms.Length; i++)
        {
            idf[i] = Math.Log((double)documentCount / documentFrequency[terms[i]]);
        }

        var topicCount = topicWords.Count;
        var wordTopics = new double[terms.Length * topicCount];
        var listed = new bool[terms.Length];
        for (var k = 0; k < topicCount; k++)
        {
            Array.Clear(listed);
            double listedMass = 0;
            var listedCount = 0;
            foreach (var (word, probability) in topicWords[k])
            {
                if (index.TryGetValue(word, out var w) && !listed[w])
                {
                    listed[w] = true;
                    wordTopics[w * topicCount + k] = probability;
                    listedMass += probability;
                    listedCount++;
                }
            }

            var unlisted = terms.Length - listedCount;
            var rest = unlisted > 0 ? Math.Max(0, 1 - listedMass) / unlisted : 0;
            for (var w = 0; w < terms.Length; w++)
            {
                if (!listed[w])
                {
                    wordTopics[w * topicCount + k] = rest;
                }
            }
        }

        return new TopicInference(terms, idf, wordTopics, topicCount, alphaSum / topicCount);
    }

    /// <summary>The document's in-vocabulary terms as (vocabulary index, count), in index order.</summary>
    private (int[] Words, int[] Counts) Bag(IReadOnlyList<string> document)
    {
        var counts = new Dictionary<int, int>();
        foreach (var token in document)
        {
            if (termIndex.TryGetValue(token, out var w))
            {
                counts[w] = counts.GetValueOrDefault(w) + 1;
            }
        }

        var words = counts.Keys.ToArray();
        Array.Sort(words);
        var values = new int[words.Length];
        for (var i = 0; i < words.Length; i++)
        {
            values[i] = counts[words[i]];
        }

        return (words, values);
    }

    /// <summary>The strongest TF-IDF terms, L2-normalised weights rounded to 4 places; ties go to the term first in ordinal order.</summary>
    public List<WeightedTerm> Keywords(IReadOnlyList<string> document, int count)
    {
        var (words, counts) = Bag(document);
        return Keywords(words, counts, count);
    }

    private List<WeightedTerm> Keywords(int[] words, int[] counts, int count)
    {
        var weighted = new List<(string Term, float Weight)>(words.Length);
        for (var i = 0; i < words.Length; i++)
        {
            weighted.Add((terms[words[i]], (float)(counts[i] * idf[words[i]])));
        }

        return KeywordRanking.Top(weighted, count);
    }

    /// <summary>The topic mixture (sums to 1, rounded to 4 places), or all zeros when no term is in the vocabulary.</summary>
    public double[] Mixture(IReadOnlyList<string> document)
    {
        var (words, counts) = Bag(document);
        return Mixture(words, counts);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private double[] Mixture(int[] words, int[] counts)
    {
        var k = TopicCount;
        var result = new double[k];
        double total = 0;
        foreach (var c in counts)
        {
            total += c;
        }

        if (total == 0)
        {
            return result;
        }

        var topicCounts = new double[k];
        var next = new double[k];
        var weight = new double[k];
        Array.Fill(topicCounts, total / k);
        for (var iteration = 0; iteration < MaxIterations; iteration++)
        {
            Array.Clear(next);
            for (var i = 0; i < words.Length; i++)
            {
                var row = words[i] * k;
                double sum = 0;
                for (var t = 0; t < k; t++)
                {
                    weight[t] = wordTopics[row + t] * (topicCounts[t] + alpha);
                    sum += weight[t];
                }

                var share = counts[i] / sum;
                for (var t = 0; t < k; t++)
                {
                    next[t] += weight[t] * share;
                }
            }

            double change = 0;
            for (var t = 0; t < k; t++)
            {
                change += Math.Abs(next[t] - topicCounts[t]);
            }

            (topicCounts, next) = (next, topicCounts);
            if (change < MeanChangeTolerance * k * total)
            {
                break;
            }
        }

        for (var t = 0; t < k; t++)
        {
            result[t] = Math.Round(topicCounts[t] / total, 4);
        }

        return result;
    }

    public TextScore Score(IReadOnlyList<string> document, int keywordCount)
    {
        var (words, counts) = Bag(document);
        return new TextScore(Keywords(words, counts, keywordCount), Mixture(words, counts));
    }

    public void Save(string path)
    {
        using var writer = new BinaryWriter(File.Create(path));
        writer.Write(FormatVersion);
        writer.Write(terms.Length);
        writer.Write(TopicCount);
        writer.Write(alpha);
        foreach (var term in terms)
        {
            writer.Write(term);
        }

        foreach (var value in idf)
        {
            writer.Write(value);
        }

        foreach (var value in wordTopics)
        {
            writer.Write(value);
        }
    }

    public static TopicInference Load(string path)
    {
        using var reader = new BinaryReader(File.OpenRead(path));
        if (reader.ReadInt32() != FormatVersion)
        {
            throw new InvalidDataException($"{path} is not a topic inference file this version can read.");
        }

        var termCount = reader.ReadInt32();
        var topicCount = reader.ReadInt32();
        var alpha = reader.ReadDouble();
        var terms = new string[termCount];
        for (var i = 0; i < termCount; i++)
        {
            terms[i] = reader.ReadString();
        }

        var idf = new double[termCount];
        for (var i = 0; i < termCount; i++)
        {
            idf[i] = reader.ReadDouble();
        }

        var wordTopics = new double[termCount * topicCount];
        for (var i = 0; i < wordTopics.Length; i++)
        {
            wordTopics[i] = reader.ReadDouble();
        }

        return new TopicInference(terms, idf, wordTopics, topicCount, alpha);
    }
}
