using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Text;

namespace Discounts.Core.Profiling;

public sealed record TextModelOptions
{
    public int TopicCount { get; init; } = 12;
    public int MaxVocabulary { get; init; } = 20_000;
    /// <summary>Terms in fewer documents than this are typos or names; they only add noise to topics.</summary>
    public int MinDocumentFrequency { get; init; } = 2;
    /// <summary>Terms in more than this share of documents say nothing about anyone.</summary>
    public double MaxDocumentShare { get; init; } = 0.5;
    public int LdaIterations { get; init; } = 100;
    public int TopicWordCount { get; init; } = 8;
    public int KeywordCount { get; init; } = 10;
    public int Seed { get; init; } = 20_261_128;
    /// <summary>LightLDA's sampling threads; ML.NET's own default (0) runs on one.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;
}

public sealed record WeightedTerm(string Term, double Weight);

public sealed record Topic(int Id, IReadOnlyList<WeightedTerm> TopWords);

/// <summary>One document scored against a fitted model: its strongest TF-IDF terms and its topic mixture (sums to 1, or all 0 when empty).</summary>
public sealed record TextScore(IReadOnlyList<WeightedTerm> Keywords, IReadOnlyList<double> TopicMixture);

/// <summary>
/// The fitted text model: a vocabulary with IDF weights and LDA topics, learned once over the corpus of texts with
/// ML.NET, then used to score any user's texts without refitting. Its <see cref="Version"/> names the vocabulary and
/// topics, so a profile records which model produced it.
/// </summary>
public sealed class TextProfileModel
{
    private const string TokensColumn = "Tokens";
    private const string CountsColumn = "Counts";
    private const string TfIdfColumn = "TfIdf";
    private const string TopicsColumn = "Topics";

    /// <summary>ML.NET's default, set explicitly because the managed scorer uses the same prior: α = AlphaSum / topics.</summary>
    private const float LdaAlphaSum = 100;

    /// <summary>Below this many documents one ML.NET model copy scores them all; above it, each core gets a copy and a share.</summary>
    private const int ParallelScoringThreshold = 2_000;

    /// <summary>Below this many documents the managed scorer runs on the calling thread; a single-user refresh stays on one.</summary>
    private const int ManagedParallelThreshold = 64;

    private readonly MLContext ml;
    private readonly ITransformer transformer;
    private readonly string[] tfIdfTerms;
    private readonly HashSet<string> vocabulary;
    private readonly TopicInference? inference;
    private readonly List<ScoringCopy> copies = [];
    private readonly Lock copiesGate = new();
    private byte[]? savedModel;

    /// <summary>
    /// ML.NET's LDA scores one document at a time under a lock inside the transformer, so one transformer uses one core.
    /// Independent copies (the saved model loaded again, each with its own context) score shares of a batch in parallel.
    /// Each document's sampler is reset before it is scored, so the result does not depend on which copy scored it.
    /// </summary>
    private sealed record ScoringCopy(MLContext Ml, ITransformer Transformer, Lock Gate);

    private TextProfileModel(MLContext ml, ITransformer transformer, TextModelMetadata metadata, TopicInference? inference)
    {
        this.ml = ml;
        this.transformer = transformer;
        this.inference = inference;
        Metadata = metadata;
        vocabulary = metadata.Vocabulary.ToHashSet(StringComparer.Ordinal);
        var schema = transformer.GetOutputSchema(ml.Data.LoadFromEnumerable(Array.Empty<TokensRow>()).Schema);
        tfIdfTerms = SlotNames(schema[TfIdfColumn]);
    }

    public TextModelMetadata Metadata { get; }

    public string Version => Metadata.Version;

    public IReadOnlyList<Topic> Topics => Metadata.Topics;

    /// <summary>How many ML.NET scoring copies exist now; they are made only as batch sizes need them.</summary>
    internal int ScoringCopyCount
    {
        get
        {
            lock (copiesGate)
            {
                return copies.Count;
            }
        }
    }

    /// <summary>Whether scoring runs managed over the fitted matrices (every model fitted or saved since it existed) or through ML.NET.</summary>
    internal bool ScoresManaged => inference is not null;

    public static TextProfileModel Fit(IReadOnlyList<IReadOnlyList<string>> documents, TextModelOptions options, DateTime fittedAtUtc)
    {
        var documentFrequency = DocumentFrequencies(documents);
        var vocabulary = ChooseVocabulary(documentFrequency, documents.Count, options);
        if (vocabulary.Count == 0)
        {
            throw new ArgumentException("No term occurs in enough documents to fit a text model.", nameof(documents));
        }

        var known = vocabulary.ToHashSet(StringComparer.Ordinal);
        var ml = new MLContext(options.Seed);
        var data = ml.Data.LoadFromEnumerable(documents.Select(d => new TokensRow { Tokens = InVocabulary(d, known) }));
        var terms = ml.Data.LoadFromEnumerable(vocabulary.Select(t => new TermRow { Term = t }));
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Keys", TokensColumn, keyData: terms)
            .Append(ml.Transforms.Text.ProduceNgrams(CountsColumn, "Keys", ngramLength: 1, useAllLengths: false,
                maximumNgramsCount: Math.Max(1, vocabulary.Count), weighting: NgramExtractingEstimator.WeightingCriteria.Tf))
            .Append(ml.Transforms.Text.ProduceNgrams(TfIdfColumn, "Keys", ngramLength: 1, useAllLengths: false,
                maximumNgramsCount: Math.Max(1, vocabulary.Count), weighting: NgramExtractingEstimator.WeightingCriteria.TfIdf))
            .Append(ml.Transforms.Text.LatentDirichletAllocation(TopicsColumn, CountsColumn,
                numberOfTopics: options.TopicCount,
                alphaSum: LdaAlphaSum,
                maximumNumberOfIterations: options.LdaIterations,
                // Every word of every topic, not only the top few: the managed scorer needs the whole topic-word matrix.
                numberOfSummaryTermsPerTopic: vocabulary.Count,
                numberOfThreads: options.Threads,
                // The log-likelihood is only printed; computing it every 5 iterations (the default) costs a pass each time.
                likelihoodInterval: Math.Max(5, options.LdaIterations),
                resetRandomGenerator: true));
        var fitted = NativeStdout.ToStderr(() => pipeline.Fit(data));

        var lda = fitted.LastTransformer;
        var details = lda.GetLdaDetails(0).WordScoresPerTopic;
        var topics = details
            .Select((words, id) => new Topic(id, words
                .OrderByDescending(w => w.Score)
                .Take(options.TopicWordCount)
                .Select(w => new WeightedTerm(w.Word, Math.Round(w.Score, 6)))
                .ToList()))
            .ToList();
        var metadata = new TextModelMetadata(
            VersionOf(vocabulary, options, fittedAtUtc), fittedAtUtc, documents.Count, vocabulary.Count, options, topics, vocabulary);
        var inference = TopicInference.Create(vocabulary, documentFrequency, documents.Count,
            details.Select(words => (IReadOnlyList<(string, float)>)words.Select(w => (w.Word, w.Score)).ToList()).ToList(), LdaAlphaSum);
        return new TextProfileModel(ml, fitted, metadata, inference);
    }

    /// <summary>Scores documents (each a user's texts, tokenised and joined) against the fitted vocabulary and topics.</summary>
    public IReadOnlyList<TextScore> Score(IReadOnlyList<IReadOnlyList<string>> documents)
    {
        if (inference is null)
        {
            return ScoreWithMlNet(documents);
        }

        var keywordCount = Metadata.Options.KeywordCount;
        var result = new TextScore[documents.Count];
        if (documents.Count < ManagedParallelThreshold)
        {
            for (var i = 0; i < result.Length; i++)
            {
                result[i] = inference.Score(documents[i], keywordCount);
            }
        }
        else
        {
            Parallel.ForEach(System.Collections.Concurrent.Partitioner.Create(0, documents.Count, ManagedParallelThreshold), range =>
            {
                for (var i = range.Item1; i < range.Item2; i++)
                {
                    result[i] = inference.Score(documents[i], keywordCount);
                }
            });
        }

        return result;
    }

    /// <summary>
    /// Scores through the ML.NET pipeline: TF-IDF by its n-gram transform and topics by LightLDA's sampler. Models saved
    /// before the managed scorer existed score this way, and tests hold the managed scorer against it.
    /// </summary>
    public IReadOnlyList<TextScore> ScoreWithMlNet(IReadOnlyList<IReadOnlyList<string>> documents)
    {
        if (documents.Count == 0)
        {
            return [];
        }

        var scorers = ScoringCopies(documents.Count < ParallelScoringThreshold ? 1 : Math.Max(1, Environment.ProcessorCount));
        var share = (documents.Count + scorers.Length - 1) / scorers.Length;
        var parts = new List<TextScore>[scorers.Length];
        // The stdout swap is process-wide and serialised, so it wraps the whole batch, never one worker.
        NativeStdout.ToStderr(() => Parallel.For(0, scorers.Length, part =>
            parts[part] = ScoreOn(scorers[part], documents.Skip(part * share).Take(share))));
        return parts.SelectMany(part => part).ToList();
    }

    private List<TextScore> ScoreOn(ScoringCopy copy, IEnumerable<IReadOnlyList<string>> documents)
    {
        lock (copy.Gate)
        {
            var data = copy.Ml.Data.LoadFromEnumerable(documents.Select(d => new TokensRow { Tokens = InVocabulary(d, vocabulary) }));
            return copy.Ml.Data.CreateEnumerable<ScoredRow>(copy.Transformer.Transform(data), reuseRowObject: false)
                .Select(row => new TextScore(TopKeywords(row.TfIdf), Mixture(row.Topics)))
                .ToList();
        }
    }

    /// <summary>The first <paramref name="needed"/> scoring copies, making only those not made yet: one document needs one copy, not one per core.</summary>
    private ScoringCopy[] ScoringCopies(int needed)
    {
        lock (copiesGate)
        {
            // Every copy, the first included, is loaded from the saved model: a freshly fitted LDA transformer scores a
            // little differently from the same model loaded back, and a document must score the same on every copy.
            if (copies.Count < needed && savedModel is null)
            {
                using var saved = new MemoryStream();
                ml.Model.Save(transformer, ml.Data.LoadFromEnumerable(Array.Empty<TokensRow>()).Schema, saved);
                savedModel = saved.ToArray();
            }

            while (copies.Count < needed)
            {
                using var saved = new MemoryStream(savedModel!, writable: false);
                var context = new MLContext(Metadata.Options.Seed);
                copies.Add(new ScoringCopy(context, context.Model.Load(saved, out _), new Lock()));
            }

            return copies.Take(needed).ToArray();
        }
    }

    public TextScore Score(IReadOnlyList<string> document) => Score([document])[0];

    /// <summary>Writes the ML.NET model, its metadata and the managed scorer's matrices as &lt;version&gt;.zip, .json and .topics.bin.</summary>
    public string Save(string directory)
    {
        Directory.CreateDirectory(directory);
        var zip = Path.Combine(directory, Version + ".zip");
        var schema = ml.Data.LoadFromEnumerable(Array.Empty<TokensRow>()).Schema;
        ml.Model.Save(transformer, schema, zip);
        inference?.Save(Path.Combine(directory, Version + InferenceSuffix));
        File.WriteAllText(Path.Combine(directory, Version + ".json"), JsonSerializer.Serialize(Metadata, MetadataJson));
        return zip;
    }

    public static TextProfileModel Load(string directory, string version)
    {
        var metadata = JsonSerializer.Deserialize<TextModelMetadata>(File.ReadAllText(Path.Combine(directory, version + ".json")), MetadataJson)
                       ?? throw new InvalidDataException($"Text model {version} has no metadata.");
        var ml = new MLContext(metadata.Options.Seed);
        // Loading the LDA transformer starts LightLDA, which announces its threads on stdout.
        var transformer = NativeStdout.ToStderr(() => ml.Model.Load(Path.Combine(directory, version + ".zip"), out _));
        var inferencePath = Path.Combine(directory, version + InferenceSuffix);
        return new TextProfileModel(ml, transformer, metadata, File.Exists(inferencePath) ? TopicInference.Load(inferencePath) : null);
    }

    private const string InferenceSuffix = ".topics.bin";

    /// <summary>Keeps terms that occur in enough documents but not in most, the most widespread first, up to the cap; sorted so the model is reproducible.</summary>
    public static List<string> ChooseVocabulary(IReadOnlyList<IReadOnlyList<string>> documents, TextModelOptions options) =>
        ChooseVocabulary(DocumentFrequencies(documents), documents.Count, options);

    private static List<string> ChooseVocabulary(Dictionary<string, int> documentFrequency, int documentCount, TextModelOptions options)
    {
        var maxFrequency = TermStatistics.MaxDocuments(documentCount, options);
        return documentFrequency
            .Where(kv => kv.Value >= options.MinDocumentFrequency && kv.Value <= maxFrequency)
            .OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal)
            .Take(options.MaxVocabulary)
            .Select(kv => kv.Key)
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    private static Dictionary<string, int> DocumentFrequencies(IReadOnlyList<IReadOnlyList<string>> documents)
    {
        var documentFrequency = new Dictionary<string, int>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var document in documents)
        {
            seen.Clear();
            foreach (var term in document)
            {
                if (seen.Add(term))
                {
                    documentFrequency[term] = documentFrequency.GetValueOrDefault(term) + 1;
                }
            }
        }

        return documentFrequency;
    }

    /// <summary>
    /// Terms outside the vocabulary are dropped before ML.NET sees them: its n-gram counter would otherwise count
    /// every unknown term as one shared "*" term, which then tops keywords and topics.
    /// </summary>
    private static string[] InVocabulary(IReadOnlyList<string> document, HashSet<string> known)
    {
        var kept = new List<string>(document.Count);
        foreach (var term in document)
        {
            if (known.Contains(term))
            {
                kept.Add(term);
            }
        }

        return [.. kept];
    }

    private List<WeightedTerm> TopKeywords(VBuffer<float> weights)
    {
        var indices = weights.GetIndices();
        var values = weights.GetValues();
        var dense = weights.IsDense;
        double norm = 0;
        foreach (var v in values)
        {
            norm += v * v;
        }

        norm = Math.Sqrt(norm);
        var top = new List<(int Slot, float Weight)>(values.Length);
        for (var i = 0; i < values.Length; i++)
        {
            if (values[i] > 0)
            {
                top.Add((dense ? i : indices[i], values[i]));
            }
        }

        return top.OrderByDescending(t => t.Weight).ThenBy(t => tfIdfTerms[t.Slot], StringComparer.Ordinal)
            .Take(Metadata.Options.KeywordCount)
            .Select(t => new WeightedTerm(tfIdfTerms[t.Slot], Math.Round(t.Weight / norm, 4)))
            .ToList();
    }

    private static double[] Mixture(float[] topics)
    {
        var sum = topics.Sum(t => (double)t);
        return topics.Select(t => sum > 0 ? Math.Round(t / sum, 4) : 0).ToArray();
    }

    private static string[] SlotNames(DataViewSchema.Column column)
    {
        var names = default(VBuffer<ReadOnlyMemory<char>>);
        column.GetSlotNames(ref names);
        return names.DenseValues().Select(n => n.ToString()).ToArray();
    }

    private static string VersionOf(IReadOnlyList<string> vocabulary, TextModelOptions options, DateTime fittedAtUtc)
    {
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes($"{options.TopicCount}|{options.Seed}|{string.Join('\n', vocabulary)}"));
        return $"text-{fittedAtUtc:yyyyMMddHHmmss}-{Convert.ToHexStringLower(digest.AsSpan(0, 4))}";
    }

    private static readonly JsonSerializerOptions MetadataJson = new(JsonSerializerDefaults.Web);

    private sealed class TokensRow
    {
        public string[] Tokens { get; set; } = [];
    }

    private sealed class TermRow
    {
        public string Term { get; set; } = "";
    }

    private sealed class ScoredRow
    {
        public VBuffer<float> TfIdf { get; set; }
        public float[] Topics { get; set; } = [];
    }
}

/// <summary>What a fitted text model is: its version, when and on how much it was fitted, and its topics.</summary>
public sealed record TextModelMetadata(
    string Version,
    DateTime FittedAt,
    int DocumentCount,
    int VocabularySize,
    TextModelOptions Options,
    IReadOnlyList<Topic> Topics,
    IReadOnlyList<string> Vocabulary);
