using System.Collections.Concurrent;
using Discounts.Core.Data;
using Discounts.Core.Scoring;
using Discounts.Training.FineTuning;
using Discounts.Training.Scorer;
using Discounts.Training.Runtime;
using Discounts.Training.Serving;
using Microsoft.Extensions.Options;
using static TorchSharp.torch;

namespace Discounts.Tests.Training;

[TestFixture]
public sealed class ScorerHostTests
{
    private const int MaxLength = 24;

    private static readonly IReadOnlyList<CatalogueItem> Catalogue = Enumerable.Range(1, 40)
        .Select(i => new CatalogueItem(i, UserSide.ItemSideText($"item {i}", i % 2 == 0 ? "shoes" : "books", "acme", $"a red thing number {i}")))
        .ToList();

    private static readonly string[] Users = ["buys shoes. love running", "buys books. novels at night", "new shopper", "buys shoes, books"];

    private string dataDirectory = "";
    private ScorerModels models = null!;

    [SetUp]
    public void CreateModels()
    {
        dataDirectory = Directory.CreateTempSubdirectory("discounts-scorer-").FullName;
        var training = Options.Create(new TrainingOptions { Device = "cpu" });
        models = new ScorerModels(Options.Create(new FineTuneOptions { ScorerBase = ScorerBase.Tiny }), training, new TorchRuntime(training), new DataPaths(dataDirectory));
    }

    [TearDown]
    public void RemoveData() => Directory.Delete(dataDirectory, recursive: true);

    [Test]
    public void Score_WhenTwoSwapsHappenUnderLoad_EveryRequestIsAnsweredWhollyByOneVersion()
    {
        var snapshots = Enumerable.Range(0, 3).Select(Variant).ToList();
        var pairs = Users.SelectMany(u => Catalogue.Take(6).Select(i => new ScoringPair(u, i.Id))).ToList();
        using var host = new ScorerHost();
        var expected = new Dictionary<string, float[]>();
        foreach (var snapshot in snapshots)
        {
            host.Publish(snapshot);
            expected[snapshot.Version.Name] = [.. host.Score(pairs).Probabilities];
        }
        // Republishing retired the first two; build fresh ones for the run under load.
        snapshots = Enumerable.Range(0, 3).Select(Variant).ToList();
        host.Publish(snapshots[0]);

        var failures = new ConcurrentQueue<Exception>();
        var answered = new ConcurrentBag<ScoredBatch>();
        using var stop = new CancellationTokenSource();
        var workers = Enumerable.Range(0, 4).Select(_ => Task.Factory.StartNew(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    answered.Add(host.Score(pairs));
                }
                catch (Exception error)
                {
                    failures.Enqueue(error);
                }
            }
        }, TaskCreationOptions.LongRunning)).ToArray();

        WaitForAnswers(answered, 8);
        host.Publish(snapshots[1]);
        WaitForAnswers(answered, answered.Count + 8);
        host.Publish(snapshots[2]);
        WaitForAnswers(answered, answered.Count + 8);
        stop.Cancel();
        Task.WaitAll(workers);

        var byVersion = answered.GroupBy(a => a.Version.Name).ToDictionary(g => g.Key, g => g.ToList());
        TestContext.Out.WriteLine($"{answered.Count} requests: {string.Join(", ", byVersion.Select(kv => $"{kv.Key} {kv.Value.Count}"))}");
        Assert.Multiple(() =>
        {
            Assert.That(failures, Is.Empty);
            Assert.That(byVersion.Keys, Is.EquivalentTo(new[] { "v0", "v1", "v2" }), "requests were served before, between and after both swaps");
            foreach (var batch in answered)
                Assert.That(batch.Probabilities, Is.EqualTo(expected[batch.Version.Name]).Within(1e-5), $"a {batch.Version.Name} answer mixes versions");
            Assert.That(snapshots[0].IsDisposed && snapshots[1].IsDisposed, Is.True, "replaced snapshots are freed once their readers leave");
            Assert.That(snapshots[2].IsDisposed, Is.False);
        });
    }

    [Test]
    public void Score_WhenCalledManyTimes_KeepsLiveTensorsFlat()
    {
        using var host = new ScorerHost();
        host.Publish(Variant(0));
        var pairs = Users.Select(u => new ScoringPair(u, 7)).ToList();
        for (var i = 0; i < 10; i++) host.Score(pairs);

        var statistics = TorchSharp.DisposeScopeManager.Statistics;
        statistics.Reset();
        var liveBefore = statistics.ThreadTotalLiveCount;
        for (var i = 0; i < 200; i++) host.Score(pairs);

        Assert.Multiple(() =>
        {
            Assert.That(statistics.ThreadTotalLiveCount, Is.EqualTo(liveBefore), "every tensor made during a call is freed by its end");
            Assert.That(statistics.CreatedInScopeCount, Is.GreaterThan(0), "the calls ran in dispose scopes");
        });
    }

    [Test]
    public void LoadVersion_WhenShaDoesNotMatchTheRegistry_IsRefusedAndOldSnapshotKeepsServing()
    {
        var (scorer, _) = models.CreateBase(dropout: 0);
        using var owned = scorer;
        var path = Path.Combine(models.ScorerFolder, "v.safetensors");
        var sha = ScorerModels.SaveAtomically(scorer.Model, path);
        using var host = new ScorerHost();
        host.Publish(Variant(0));
        var before = host.ActiveVersion;

        Assert.Throws<InvalidDataException>(() => models.LoadVersion(path, new string('0', 64)));
        File.WriteAllBytes(path, File.ReadAllBytes(path)[..200]);
        Assert.Throws<InvalidDataException>(() => models.LoadVersion(path, sha), "a truncated file fails its checksum");
        Assert.Multiple(() =>
        {
            Assert.That(host.ActiveVersion, Is.EqualTo(before));
            Assert.That(host.Score([new ScoringPair(Users[0], 1)]).Probabilities[0], Is.InRange(0f, 1f));
            Assert.That(Directory.GetFiles(models.ScorerFolder, "*.tmp-*"), Is.Empty, "the atomic write leaves no temp file");
        });
    }

    [Test]
    public void SaveAtomically_WhenLoadedBack_ScoresIdentically()
    {
        var original = Variant(1);
        using var host = new ScorerHost();
        host.Publish(original);
        var pairs = Users.Select(u => new ScoringPair(u, 3)).ToList();
        var expected = host.Score(pairs).Probabilities;
        var (scorer, _) = models.CreateBase(dropout: 0);
        Shift(scorer, 1);
        var path = Path.Combine(models.ScorerFolder, "v1.safetensors");
        string sha;
        using (scorer)
        {
            sha = ScorerModels.SaveAtomically(scorer.Model, path);
        }

        host.Publish(ScorerSnapshot.Build(models.LoadVersion(path, sha), Catalogue, new ScorerVersion(1, "v1-loaded", sha), MaxLength));
        Assert.That(host.Score(pairs).Probabilities, Is.EqualTo(expected).Within(1e-6));
    }

    [Test]
    public void ScoreUserVector_WhenGivenTheUsersEmbedding_MatchesScoringTheText()
    {
        using var host = new ScorerHost();
        host.Publish(Variant(1));
        var ids = Catalogue.Take(12).Select(i => i.Id).ToList();
        var embedded = host.EmbedUsers([ScorerUser.OfText(Users[0])]);

        var managed = host.ScoreUserVector(embedded.Version, embedded.Vectors[0], [.. ids, 999_999])!;
        var torch = host.Score(ids.Select(id => new ScoringPair(Users[0], id)).ToList());

        Assert.Multiple(() =>
        {
            Assert.That(managed.Probabilities.Take(12), Is.EqualTo(torch.Probabilities).Within(1e-5f));
            Assert.That(managed.Probabilities[12], Is.NaN, "an item the version never embedded");
            Assert.That(host.ScoreUserVector(new ScorerVersion(7, "other", ""), embedded.Vectors[0], ids), Is.Null);
            Assert.That(host.EmbedCatalogue().ItemIds, Has.Count.EqualTo(Catalogue.Count));
        });
    }

    private ScorerSnapshot Variant(int n)
    {
        var (scorer, sha) = models.CreateBase(dropout: 0);
        Shift(scorer, n);
        return ScorerSnapshot.Build(scorer, Catalogue, new ScorerVersion(n, $"v{n}", sha), MaxLength);
    }

    /// <summary>Moves the buy bias so each variant gives visibly different probabilities.</summary>
    private static void Shift(ScorerModel scorer, int n)
    {
        using var noGrad = no_grad();
        var bias = scorer.Model.named_parameters().Single(p => p.name == "classifier.bias").parameter;
        using var buy = bias[TwoTowerModel.BuyLabel];
        buy.add_(0.5 * n);
    }

    private static void WaitForAnswers(ConcurrentBag<ScoredBatch> answered, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (answered.Count < count && DateTime.UtcNow < deadline) Thread.Sleep(5);
    }
}

[TestFixture]
public sealed class ScorerEvaluationTests
{
    [Test]
    public void Auc_WhenScoresSeparateClassesWithOneTie_CountsTheTieHalf()
    {
        var auc = ScorerEvaluation.Auc([0.9f, 0.5f, 0.5f, 0.1f], [true, true, false, false]);
        Assert.That(auc, Is.EqualTo(0.875).Within(1e-12));
    }

    [Test]
    public void FitPlatt_WhenLabelsFollowAKnownLogistic_RecoversScaleAndBias()
    {
        var random = new Random(3);
        var pairs = Enumerable.Range(0, 20_000).Select(_ =>
        {
            var margin = (float)((random.NextDouble() * 6) - 3);
            var p = 1 / (1 + Math.Exp(-((2 * margin) - 1)));
            return (margin, random.NextDouble() < p);
        }).ToList();

        var (scale, bias) = ScorerEvaluation.FitPlatt(pairs);

        Assert.Multiple(() =>
        {
            Assert.That(scale, Is.EqualTo(2).Within(0.15));
            Assert.That(bias, Is.EqualTo(-1).Within(0.1));
            Assert.That(ScorerEvaluation.PlattLogLoss(pairs, scale, bias), Is.LessThan(ScorerEvaluation.PlattLogLoss(pairs, 1, 0)));
        });
    }

    [Test]
    public void RankOf_WhenTargetTiesWithOthers_GetsNoCreditForTheTie()
    {
        Assert.Multiple(() =>
        {
            Assert.That(ScorerEvaluation.RankOf([0.2f, 0.9f, 0.5f], 1), Is.EqualTo(0));
            Assert.That(ScorerEvaluation.RankOf([0.5f, 0.5f, 0.5f], 0), Is.EqualTo(1));
            Assert.That(ScorerEvaluation.RankOf([0.7f, 0.9f, 0.5f], 2), Is.EqualTo(2));
        });
    }

    [Test]
    public void UserSideText_WhenUserHasTextsAndPurchases_PutsTopCategoriesFirst()
    {
        var text = UserSide.UserSideText(["new trail shoes", "old text", "older", "oldest"], ["books", "shoes", "shoes"]);
        Assert.That(text, Is.EqualTo("buys shoes, books. new trail shoes | old text | older"));
    }
}
