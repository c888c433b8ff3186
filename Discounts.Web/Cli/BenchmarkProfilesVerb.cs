using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Discounts.Core.Profiling;

namespace Discounts.Web.Cli;

/// <summary>
/// `benchmark-profiles --sizes 10000,100000 --repeats 3 --dir DIR [--topics 20] [--iterations 100]`, or with
/// `--reviews All_Beauty_5.json.gz` the same timings on real review text. The synthetic mode writes a
/// corpus per size (DIR/corpus-N.tsv: user id, tab, text; the same file docs/scripts/profile_bench_sklearn.py reads),
/// then times fitting the text model (tokenising, vocabulary, TF-IDF and LDA) and scoring every user against it.
/// One JSON line per size on stdout; LDA's native chatter goes to stderr. CPU seconds (user + system, every thread of
/// the process) are recorded beside wall seconds, since they depend far less on what else the machine is running.
/// `--mlnet-scoring 1` also times scoring through ML.NET's own pipeline (TF-IDF transform and LightLDA's sampler).
/// </summary>
public static class BenchmarkProfilesVerb
{
    private const int TextsPerUser = 10;

    public static async Task<int> RunAsync(string[] args)
    {
        var options = Parse(args);
        if (options is null)
        {
            await Console.Error.WriteLineAsync("Usage: benchmark-profiles --sizes 10000,100000 [--repeats 3] [--dir DIR] [--topics 20] [--iterations 100] [--reviews FILE.json.gz]");
            return 2;
        }

        if (options.Reviews is { } reviewsPath)
        {
            return await RunOnReviewsAsync(reviewsPath, options);
        }

        Directory.CreateDirectory(options.Directory);
        foreach (var size in options.Sizes)
        {
            var path = Path.Combine(options.Directory, $"corpus-{size}.tsv");
            if (!File.Exists(path))
            {
                await Console.Error.WriteLineAsync($"writing {path}");
                WriteCorpus(path, size);
            }

            var rows = File.ReadLines(path).Select(line => line.Split('\t', 2)).ToList();
            var texts = rows.Select(r => r[1]).ToList();
            var fits = new List<double>();
            var scores = new List<double>();
            var fitCpu = new List<double>();
            var scoreCpu = new List<double>();
            var mlnetScores = new List<double>();
            var prepareCpu = new List<double>();
            var mlnetScoreCpu = new List<double>();
            var vocabulary = 0;
            var users = 0;
            for (var repeat = 0; repeat < options.Repeats; repeat++)
            {
                var started = Stopwatch.GetTimestamp();
                var cpu = CpuSeconds();
                var documents = texts.AsParallel().AsOrdered().Select(t => (IReadOnlyList<string>)Tokenizer.Tokenize(t)).ToList();
                var model = TextProfileModel.Fit(documents, new TextModelOptions { TopicCount = options.Topics, LdaIterations = options.Iterations }, DateTime.UtcNow);
                fits.Add(Stopwatch.GetElapsedTime(started).TotalSeconds);
                fitCpu.Add(CpuSeconds() - cpu);
                vocabulary = model.Metadata.VocabularySize;

                started = Stopwatch.GetTimestamp();
                cpu = CpuSeconds();
                // Like scikit-learn's peer, scoring starts from each user's raw texts joined, so tokenising is timed too.
                var userDocuments = rows.GroupBy(r => r[0], StringComparer.Ordinal).ToList()
                    .AsParallel().AsOrdered().Select(g => (IReadOnlyList<string>)Tokenizer.Tokenize(string.Join(' ', g.Select(r => r[1])))).ToList();
                prepareCpu.Add(CpuSeconds() - cpu);
                var scored = model.Score(userDocuments);
                scores.Add(Stopwatch.GetElapsedTime(started).TotalSeconds);
                scoreCpu.Add(CpuSeconds() - cpu);
                users = scored.Count;
                await Console.Error.WriteLineAsync($"size {size:N0} run {repeat + 1}: fit {fits[^1]:F2} s (cpu {fitCpu[^1]:F2}), score {scores[^1]:F2} s (cpu {scoreCpu[^1]:F2}) ({users:N0} users)");
                if (options.MlNetScoring)
                {
                    started = Stopwatch.GetTimestamp();
                    cpu = CpuSeconds();
                    model.ScoreWithMlNet(userDocuments);
                    mlnetScores.Add(Stopwatch.GetElapsedTime(started).TotalSeconds);
                    mlnetScoreCpu.Add(CpuSeconds() - cpu);
                    await Console.Error.WriteLineAsync($"size {size:N0} run {repeat + 1}: ML.NET pipeline scoring {mlnetScores[^1]:F2} s (cpu {mlnetScoreCpu[^1]:F2})");
                }
            }

            Console.WriteLine(JsonSerializer.Serialize(new
            {
                tool = "discounts-mlnet",
                texts = size,
                users,
                vocabulary,
                topics = options.Topics,
                ldaIterations = options.Iterations,
                fitSeconds = fits.Select(f => Math.Round(f, 3)),
                fitMedian = Math.Round(Median(fits), 3),
                scoreSeconds = scores.Select(s => Math.Round(s, 3)),
                scoreMedian = Math.Round(Median(scores), 3),
                scorePerUserMs = Math.Round(Median(scores) * 1000 / Math.Max(1, users), 4),
                threads = Environment.ProcessorCount,
                fitCpuSeconds = fitCpu.Select(c => Math.Round(c, 3)),
                scoreCpuSeconds = scoreCpu.Select(c => Math.Round(c, 3)),
                scoreCpuPerUserMs = Math.Round(Median(scoreCpu) * 1000 / Math.Max(1, users), 4),
                // The part of scoreCpuSeconds spent grouping, joining and tokenising the users' raw texts.
                scorePrepareCpuSeconds = prepareCpu.Select(c => Math.Round(c, 3)),
                mlnetScoreSeconds = mlnetScores.Select(s => Math.Round(s, 3)),
                mlnetScoreCpuSeconds = mlnetScoreCpu.Select(c => Math.Round(c, 3)),
            }, RecordFiles.Json));
        }

        return 0;
    }

    /// <summary>Real text: Amazon reviews (JSON lines, gzip), de-duplicated by (reviewer, item), cleaned, one document per review, scored per reviewer.</summary>
    private static async Task<int> RunOnReviewsAsync(string path, Options options)
    {
        var started = Stopwatch.GetTimestamp();
        var reviews = Core.Evaluation.AmazonReviews.ReadDeduplicated(path);
        var cleaned = reviews.AsParallel().AsOrdered().Select(r => TextCleaner.Clean(r.Text)).ToList();
        var cleanSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var fits = new List<double>();
        var scores = new List<double>();
        TextProfileModel? model = null;
        var users = 0;
        for (var repeat = 0; repeat < options.Repeats; repeat++)
        {
            started = Stopwatch.GetTimestamp();
            var documents = cleaned.AsParallel().AsOrdered().Select(t => (IReadOnlyList<string>)Tokenizer.Tokenize(t)).ToList();
            model = TextProfileModel.Fit(documents, new TextModelOptions { TopicCount = options.Topics, LdaIterations = options.Iterations }, DateTime.UtcNow);
            fits.Add(Stopwatch.GetElapsedTime(started).TotalSeconds);

            started = Stopwatch.GetTimestamp();
            var userDocuments = reviews.Zip(documents).GroupBy(p => p.First.ReviewerId, StringComparer.Ordinal)
                .Select(g => (IReadOnlyList<string>)g.SelectMany(p => p.Second).ToList()).ToList();
            users = model.Score(userDocuments).Count;
            scores.Add(Stopwatch.GetElapsedTime(started).TotalSeconds);
            await Console.Error.WriteLineAsync($"reviews run {repeat + 1}: fit {fits[^1]:F2} s, score {scores[^1]:F2} s ({users:N0} users)");
        }

        Console.WriteLine(JsonSerializer.Serialize(new
        {
            tool = "discounts-mlnet",
            dataset = Path.GetFileName(path),
            reviews = reviews.Count,
            users,
            vocabulary = model!.Metadata.VocabularySize,
            topics = options.Topics,
            ldaIterations = options.Iterations,
            cleanSeconds = Math.Round(cleanSeconds, 3),
            fitSeconds = fits.Select(f => Math.Round(f, 3)),
            fitMedian = Math.Round(Median(fits), 3),
            scoreSeconds = scores.Select(s => Math.Round(s, 3)),
            scoreMedian = Math.Round(Median(scores), 3),
            topicWords = model.Topics.Select(t => string.Join(' ', t.TopWords.Take(8).Select(w => w.Term))),
        }, RecordFiles.Json));
        return 0;
    }

    private static double CpuSeconds() => Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;

    internal static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    /// <summary>
    /// A corpus with known structure: 20 latent topics over 8,000 made-up words with Zipf-like weights, plus background
    /// words; each user keeps to two topics. Deterministic, so every run and the Python peer see the same text.
    /// </summary>
    internal static void WriteCorpus(string path, int size)
    {
        var random = new Random(20_261_128);
        string[] onsets = ["b", "c", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "st", "pl", "tr", "sh"];
        string[] vowels = ["a", "e", "i", "o", "u", "ai", "ou", "ea"];
        var words = new HashSet<string>(StringComparer.Ordinal);
        while (words.Count < 8_000)
        {
            var syllables = random.Next(2, 4);
            var word = new StringBuilder();
            for (var s = 0; s < syllables; s++)
            {
                word.Append(onsets[random.Next(onsets.Length)]).Append(vowels[random.Next(vowels.Length)]);
            }

            words.Add(word.ToString());
        }

        var vocabulary = words.ToArray();
        var topics = Enumerable.Range(0, 20).Select(_ => vocabulary.OrderBy(_ => random.Next()).Take(400).ToArray()).ToArray();
        string Zipf(string[] list) => list[(int)Math.Min(list.Length - 1, Math.Floor(Math.Pow(random.NextDouble(), 2.5) * list.Length))];

        using var writer = new StreamWriter(path, append: false, new UTF8Encoding(false));
        var userCount = Math.Max(1, size / TextsPerUser);
        var userTopics = Enumerable.Range(0, userCount).Select(_ => (random.Next(20), random.Next(20))).ToArray();
        for (var i = 0; i < size; i++)
        {
            var user = random.Next(userCount);
            var (first, second) = userTopics[user];
            var length = random.Next(8, 41);
            var text = new StringBuilder();
            for (var w = 0; w < length; w++)
            {
                var roll = random.NextDouble();
                var word = roll < 0.25 ? Zipf(vocabulary) : Zipf(topics[roll < 0.7 ? first : second]);
                text.Append(w == 0 ? "" : random.NextDouble() < 0.08 ? ". " : " ").Append(word);
            }

            writer.Write("user-");
            writer.Write(user.ToString(CultureInfo.InvariantCulture));
            writer.Write('\t');
            writer.WriteLine(text.Append('.').ToString());
        }
    }

    private sealed record Options(int[] Sizes, int Repeats, string Directory, int Topics, int Iterations, string? Reviews, bool MlNetScoring);

    private static Options? Parse(string[] args)
    {
        var values = new Dictionary<string, string>();
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            values[args[i].TrimStart('-')] = args[i + 1];
        }

        try
        {
            return new Options(
                values.GetValueOrDefault("sizes", "10000,100000").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray(),
                int.Parse(values.GetValueOrDefault("repeats", "3"), CultureInfo.InvariantCulture),
                values.GetValueOrDefault("dir", Path.Combine(Path.GetTempPath(), "discounts-profile-bench")),
                int.Parse(values.GetValueOrDefault("topics", "20"), CultureInfo.InvariantCulture),
                int.Parse(values.GetValueOrDefault("iterations", "100"), CultureInfo.InvariantCulture),
                values.GetValueOrDefault("reviews"),
                values.GetValueOrDefault("mlnet-scoring") == "1");
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
