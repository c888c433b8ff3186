using Discounts.Core.Profiling;

namespace Discounts.Tests.Core.Profiling;

public sealed class TextProfileModelTests
{
    private static readonly string[][] Themes =
    [
        ["serum", "vitamin", "glow", "skin", "bright"],
        ["tent", "trail", "hike", "boots", "camp"],
        ["novel", "chapter", "author", "story", "read"],
    ];

    /// <summary>2,600 short texts, each mostly (3 in 4 words) about theme i mod 3 and otherwise about the next theme.</summary>
    private static readonly Lazy<IReadOnlyList<IReadOnlyList<string>>> Documents = new(() =>
    {
        var random = new Random(11);
        return Enumerable.Range(0, 2_600)
            .Select(i => (IReadOnlyList<string>)Enumerable.Range(0, 12).Select(_ => Themes[(i + random.Next(4) / 3) % 3][random.Next(5)]).ToList())
            .ToList();
    });

    private static readonly Lazy<TextProfileModel> Model = new(() =>
        TextProfileModel.Fit(Documents.Value, new TextModelOptions { TopicCount = 3, LdaIterations = 20, MaxDocumentShare = 0.9 }, DateTime.UtcNow));

    [Test]
    public void Score_WhenBatchIsScoredInParallel_EachDocumentScoresAsItDoesAlone()
    {
        var documents = Documents.Value;

        var batch = Model.Value.Score(documents);

        Assert.That(Model.Value.ScoresManaged, Is.True);
        Assert.That(batch, Has.Count.EqualTo(documents.Count));
        foreach (var index in new[] { 0, 1, 899, 1_300, 1_301, 2_599 })
        {
            var alone = Model.Value.Score(documents[index]);
            Assert.Multiple(() =>
            {
                Assert.That(batch[index].Keywords, Is.EqualTo(alone.Keywords), $"keywords of document {index}");
                Assert.That(batch[index].TopicMixture, Is.EqualTo(alone.TopicMixture), $"topics of document {index}");
            });
        }
    }

    [Test]
    public void ScoreWithMlNet_WhenBatchIsSplitAcrossModelCopies_EachDocumentScoresAsItDoesAlone()
    {
        var documents = Documents.Value;

        var batch = Model.Value.ScoreWithMlNet(documents);

        Assert.That(batch, Has.Count.EqualTo(documents.Count));
        foreach (var index in new[] { 0, 1, 899, 1_300, 1_301, 2_599 })
        {
            var alone = Model.Value.ScoreWithMlNet([documents[index]])[0];
            Assert.Multiple(() =>
            {
                Assert.That(batch[index].Keywords, Is.EqualTo(alone.Keywords), $"keywords of document {index}");
                Assert.That(batch[index].TopicMixture, Is.EqualTo(alone.TopicMixture), $"topics of document {index}");
            });
        }
    }

    [Test]
    public void ScoreWithMlNet_WhenOneDocument_MakesOneScoringCopyAndMoreOnlyForALargeBatch()
    {
        var directory = Path.Combine(Path.GetTempPath(), "discounts-text-model-" + Guid.NewGuid().ToString("N"));
        try
        {
            Model.Value.Save(directory);
            var loaded = TextProfileModel.Load(directory, Model.Value.Version);

            Assert.That(loaded.ScoringCopyCount, Is.Zero);
            loaded.ScoreWithMlNet([Documents.Value[0]]);
            Assert.That(loaded.ScoringCopyCount, Is.EqualTo(1));
            loaded.ScoreWithMlNet(Documents.Value.Take(10).ToList());
            Assert.That(loaded.ScoringCopyCount, Is.EqualTo(1));
            loaded.ScoreWithMlNet(Documents.Value);
            Assert.That(loaded.ScoringCopyCount, Is.EqualTo(Math.Max(1, Environment.ProcessorCount)));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Test]
    public void Load_WhenSavedModel_ScoresManagedExactlyAsTheFittedModel()
    {
        var directory = Path.Combine(Path.GetTempPath(), "discounts-text-model-" + Guid.NewGuid().ToString("N"));
        try
        {
            Model.Value.Save(directory);
            var loaded = TextProfileModel.Load(directory, Model.Value.Version);
            var probes = Documents.Value.Where((_, i) => i % 97 == 0).ToList();

            var before = Model.Value.Score(probes);
            var after = loaded.Score(probes);

            Assert.That(loaded.ScoresManaged, Is.True);
            for (var i = 0; i < probes.Count; i++)
            {
                Assert.That(after[i].Keywords, Is.EqualTo(before[i].Keywords), $"keywords of probe {i}");
                Assert.That(after[i].TopicMixture, Is.EqualTo(before[i].TopicMixture), $"topics of probe {i}");
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Test]
    public void Score_WhenManaged_KeywordsEqualMlNetTfIdfTransform()
    {
        var documents = UserDocuments();

        var managed = Model.Value.Score(documents);
        var mlNet = Model.Value.ScoreWithMlNet(documents);

        var mismatches = 0;
        for (var i = 0; i < documents.Count; i++)
        {
            var same = managed[i].Keywords.Select(k => k.Term).SequenceEqual(mlNet[i].Keywords.Select(k => k.Term))
                       && managed[i].Keywords.Zip(mlNet[i].Keywords).All(p => Math.Abs(p.First.Weight - p.Second.Weight) <= 1e-4);
            mismatches += same ? 0 : 1;
        }

        Assert.That(managed.Sum(s => s.Keywords.Count), Is.GreaterThan(documents.Count));
        Assert.That(mismatches, Is.Zero, "documents whose managed keywords differ from ML.NET's TF-IDF");
    }

    /// <summary>
    /// LightLDA's sampler draws topic assignments, so its mixture is noisy; the managed fold-in computes their
    /// expectation. On a corpus whose topics LDA can learn (three themes, 40-word texts), both must find each user's
    /// theme, agree on the main topic and differ by about the sampler's noise.
    /// </summary>
    [Test]
    public void Score_WhenManaged_TopicMixturesAgreeWithMlNetSampler()
    {
        var random = new Random(5);
        var texts = Enumerable.Range(0, 1_500).Select(i =>
        {
            return (IReadOnlyList<string>)Enumerable.Range(0, 40).Select(_ => Themes[random.NextDouble() < 0.9 ? i % 3 : random.Next(3)][random.Next(5)]).ToList();
        }).ToList();
        var model = TextProfileModel.Fit(texts, new TextModelOptions { TopicCount = 3, LdaIterations = 50, MaxDocumentShare = 0.9 }, DateTime.UtcNow);
        // 150 users, ten texts of one theme each: 400 tokens, under LightLDA's 512-token cap.
        var users = Enumerable.Range(0, 150)
            .Select(u => (IReadOnlyList<string>)Enumerable.Range(0, 10).SelectMany(t => texts[(u * 10 + t) * 3 % 1_497 + u % 3]).ToList())
            .ToList();

        var managed = model.Score(users);
        var mlNet = model.ScoreWithMlNet(users);

        var agree = 0;
        var distances = new List<double>();
        var topicOfTheme = new Dictionary<(int Theme, int Topic), int>();
        for (var i = 0; i < users.Count; i++)
        {
            var a = managed[i].TopicMixture;
            var b = mlNet[i].TopicMixture;
            agree += ArgMax(a) == ArgMax(b) ? 1 : 0;
            distances.Add(a.Zip(b).Sum(p => Math.Abs(p.First - p.Second)));
            var key = (i % 3, ArgMax(a));
            topicOfTheme[key] = topicOfTheme.GetValueOrDefault(key) + 1;
        }

        TestContext.Out.WriteLine($"main topic agrees for {agree} of {users.Count}; mean L1 distance {distances.Average():F4}, max {distances.Max():F4}");
        TestContext.Out.WriteLine($"user 0: managed {string.Join(' ', managed[0].TopicMixture)}, ML.NET {string.Join(' ', mlNet[0].TopicMixture)}");
        Assert.That(managed.All(s => Math.Abs(s.TopicMixture.Sum() - 1) < 1e-3), Is.True, "managed mixtures sum to 1");
        // Each theme's users share one main topic, and the three themes get three different topics.
        Assert.That(topicOfTheme.Where(kv => kv.Value >= 45).Select(kv => kv.Key.Topic).Distinct().Count(), Is.EqualTo(3));
        Assert.That(agree, Is.GreaterThanOrEqualTo(users.Count * 0.95));
        Assert.That(distances.Average(), Is.LessThan(0.05));
    }

    [Test]
    public void Score_WhenNoTermIsInTheVocabulary_ReturnsNoKeywordsAndAZeroMixture()
    {
        var score = Model.Value.Score(["zzz", "unknown"]);

        Assert.That(score.Keywords, Is.Empty);
        Assert.That(score.TopicMixture, Is.EqualTo(new double[] { 0, 0, 0 }));
    }

    /// <summary>300 users, each ten texts of one main theme (2,598 keeps the index's remainder mod 3) joined, like a profile refresh scores them (120 tokens, under LightLDA's 512-token cap).</summary>
    private static List<IReadOnlyList<string>> UserDocuments() =>
        Enumerable.Range(0, 300)
            .Select(u => (IReadOnlyList<string>)Enumerable.Range(0, 10).SelectMany(t => Documents.Value[((u * 7 + t) * 3 + u % 3) % 2_598]).ToList())
            .ToList();

    private static int ArgMax(IReadOnlyList<double> values)
    {
        var best = 0;
        for (var i = 1; i < values.Count; i++)
        {
            best = values[i] > values[best] ? i : best;
        }

        return best;
    }
}
