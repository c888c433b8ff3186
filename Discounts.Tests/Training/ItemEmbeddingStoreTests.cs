using Discounts.Core.Data;
using Discounts.Core.Domain;
using Discounts.Core.Scoring;
using Discounts.Training.FineTuning;
using Discounts.Training.Scorer;
using Discounts.Training.Runtime;
using Discounts.Training.Serving;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Discounts.Tests.Training;

/// <summary>Item vectors persisted per model version: reused when the text is unchanged, never trusted when the file is not.</summary>
[TestFixture]
public sealed class ItemEmbeddingStoreTests
{
    private const int MaxLength = 24;

    private string dataDirectory = "";
    private ScorerModels models = null!;
    private ListLogger logs = null!;
    private ItemEmbeddingStore store = null!;

    [SetUp]
    public void CreateModels()
    {
        dataDirectory = Directory.CreateTempSubdirectory("discounts-item-vectors-").FullName;
        var training = Options.Create(new TrainingOptions { Device = "cpu" });
        models = new ScorerModels(Options.Create(new FineTuneOptions { ScorerBase = ScorerBase.Tiny }), training, new TorchRuntime(training), new DataPaths(dataDirectory));
        logs = new ListLogger();
        store = new ItemEmbeddingStore(logs);
    }

    [TearDown]
    public void RemoveData()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(dataDirectory, recursive: true);
    }

    private string FilePath => Path.Combine(dataDirectory, "v1.items.bin");

    [Test]
    public void Build_WhenTheSameVersionIsBuiltAgain_EmbedsNoItemAndGivesBitIdenticalVectors()
    {
        var catalogue = Catalogue(40);

        var (firstCounts, first) = BuildAndRead(catalogue, "sha-a");
        var (secondCounts, second) = BuildAndRead(catalogue, "sha-a");

        Assert.Multiple(() =>
        {
            Assert.That(firstCounts, Is.EqualTo(new ItemEmbeddingCounts(Reused: 0, Embedded: 40)));
            Assert.That(secondCounts, Is.EqualTo(new ItemEmbeddingCounts(Reused: 40, Embedded: 0)));
            Assert.That(Bits(second.Vectors), Is.EqualTo(Bits(first.Vectors)), "vectors read back are the very bits written");
            Assert.That(second.ItemIds, Is.EqualTo(first.ItemIds));
            Assert.That(Directory.GetFiles(dataDirectory, "*.tmp-*"), Is.Empty, "the atomic write leaves no temporary");
        });
    }

    [Test]
    public void Build_WhenOneItemTextChangesAndOneIsAdded_EmbedsExactlyThoseTwo()
    {
        var catalogue = Catalogue(40);
        var (_, before) = BuildAndRead(catalogue, "sha-a");
        var changed = catalogue.Select(i => i.Id == 7 ? i with { Text = i.Text + " now in blue" } : i)
            .Append(new CatalogueItem(41, "item 41. a brand new kettle")).ToList();

        var (counts, after) = BuildAndRead(changed, "sha-a");
        var (_, fresh) = BuildAndRead(changed, "sha-a", useFile: false);

        var hidden = after.Dimension;
        Assert.Multiple(() =>
        {
            Assert.That(counts, Is.EqualTo(new ItemEmbeddingCounts(Reused: 39, Embedded: 2)));
            Assert.That(Row(after, 7), Is.Not.EqualTo(Row(before, 7)), "the changed item got a new vector");
            Assert.That(Row(after, 7), Is.EqualTo(Row(fresh, 7)).Within(1e-5f), "and it is the vector of its new text");
            Assert.That(Row(after, 41), Is.EqualTo(Row(fresh, 41)).Within(1e-5f));
            Assert.That(Bits(Row(after, 8)), Is.EqualTo(Bits(Row(before, 8))), "an unchanged item keeps its stored vector");
            Assert.That(after.Vectors, Has.Length.EqualTo(41 * hidden));
        });
        Assert.That(BuildAndRead(changed, "sha-a").Counts, Is.EqualTo(new ItemEmbeddingCounts(41, 0)), "the rewritten file holds the changes");
    }

    [TestCase("flip")]
    [TestCase("truncate")]
    [TestCase("garbage")]
    [TestCase("empty")]
    public void Build_WhenTheFileIsDamaged_IgnoresItAndRewritesIt(string damage)
    {
        var catalogue = Catalogue(40);
        var (_, original) = BuildAndRead(catalogue, "sha-a");
        var bytes = File.ReadAllBytes(FilePath);
        File.WriteAllBytes(FilePath, damage switch
        {
            // One bit inside a vector: the length and header still look right, only the checksum can tell.
            "flip" => Flip(bytes, bytes.Length / 2),
            "truncate" => bytes[..(bytes.Length - 100)],
            "garbage" => [.. Enumerable.Range(0, 5000).Select(i => (byte)(i * 31))],
            _ => [],
        });

        var (counts, rebuilt) = BuildAndRead(catalogue, "sha-a");

        Assert.Multiple(() =>
        {
            Assert.That(counts, Is.EqualTo(new ItemEmbeddingCounts(Reused: 0, Embedded: 40)));
            Assert.That(rebuilt.Vectors, Is.EqualTo(original.Vectors).Within(1e-6f));
            Assert.That(logs.Lines, Has.Some.Contains("Ignored the item vector file v1.items.bin"));
            Assert.That(BuildAndRead(catalogue, "sha-a").Counts, Is.EqualTo(new ItemEmbeddingCounts(40, 0)), "the file was rewritten whole");
        });
    }

    [Test]
    public void Build_WhenTheFileWasWrittenForOtherWeightsOrLength_DoesNotUseIt()
    {
        var catalogue = Catalogue(20);
        BuildAndRead(catalogue, "sha-a");

        var otherWeights = BuildAndRead(catalogue, "sha-b").Counts;
        var otherLength = BuildAndRead(catalogue, "sha-b", maxLength: MaxLength - 8).Counts;

        Assert.Multiple(() =>
        {
            Assert.That(otherWeights, Is.EqualTo(new ItemEmbeddingCounts(Reused: 0, Embedded: 20)));
            Assert.That(otherLength, Is.EqualTo(new ItemEmbeddingCounts(Reused: 0, Embedded: 20)));
            Assert.That(logs.Lines, Has.Some.Contains("written for weights sha-a"));
            Assert.That(logs.Lines, Has.Some.Contains("another maximum length"));
        });
    }

    [Test]
    public void Build_WhenTheFileCannotBeWritten_StillBuildsTheSnapshot()
    {
        Directory.CreateDirectory(FilePath);

        var (counts, embedding) = BuildAndRead(Catalogue(10), "sha-a");

        Assert.Multiple(() =>
        {
            Assert.That(counts, Is.EqualTo(new ItemEmbeddingCounts(0, 10)));
            Assert.That(embedding.ItemIds, Has.Count.EqualTo(10));
            Assert.That(logs.Lines, Has.Some.Contains("Could not write the item vector file"));
        });
    }

    [Test]
    public async Task ActivateAsync_WhenAVersionIsActivatedAgain_ReadsItsItemVectorsFromNextToItsWeights()
    {
        var paths = new DataPaths(dataDirectory);
        await using var db = new DiscountsDbContext(new DbContextOptionsBuilder<DiscountsDbContext>().UseDiscountsSqlite(paths).Options);
        await DatabaseSetup.MigrateAsync(db, CancellationToken.None);
        var now = DateTime.UtcNow;
        db.Items.AddRange(Enumerable.Range(1, 12).Select(i => new Item
        {
            ExternalId = $"sku-{i}", Title = $"thing {i}", Category = "books", PriceCents = 1000, CostCents = 500, CreatedAt = now, UpdatedAt = now,
        }));
        var weights = Path.Combine(models.ScorerFolder, "v1.safetensors");
        var (scorer, _) = models.CreateBase(dropout: 0);
        string sha;
        using (scorer) sha = ScorerModels.SaveAtomically(scorer.Model, weights);
        var version = new ModelVersion { Name = "v1", Status = ModelStatus.Candidate, WeightsPath = models.ToRegistryPath(weights), Sha256 = sha, CreatedAt = now };
        db.ModelVersions.Add(version);
        await db.SaveChangesAsync();
        using var host = new ScorerHost();
        var activation = new ScorerActivation(db, models, host, Options.Create(new FineTuneOptions { ScorerBase = ScorerBase.Tiny }), TimeProvider.System,
            Microsoft.Extensions.Logging.Abstractions.NullLogger<ScorerActivation>.Instance, store);

        await activation.PublishBaseAsync(CancellationToken.None);
        var baseCold = host.ActiveItemCounts;
        await activation.PublishBaseAsync(CancellationToken.None);
        var baseWarm = host.ActiveItemCounts;
        await activation.ActivateAsync(version.Id, CancellationToken.None);
        var versionCold = host.ActiveItemCounts;
        await activation.ActivateAsync(version.Id, CancellationToken.None);
        var versionWarm = host.ActiveItemCounts;

        Assert.Multiple(() =>
        {
            Assert.That(File.Exists(Path.Combine(models.ScorerFolder, "v1.items.bin")), Is.True, "the version's file sits next to its weights");
            Assert.That(Directory.GetFiles(Path.Combine(dataDirectory, "item-vectors"), "base-*.items.bin"), Has.Length.EqualTo(1));
            Assert.That(new[] { baseCold, baseWarm, versionCold, versionWarm }, Is.EqualTo(new[]
            {
                new ItemEmbeddingCounts(0, 12), new ItemEmbeddingCounts(12, 0), new ItemEmbeddingCounts(0, 12), new ItemEmbeddingCounts(12, 0),
            }));
        });
    }

    [Test]
    public void EmbedChangedItems_WhenItemsAreAddedOrEditedAfterTheBuild_ScoresThemLikeAFreshBuild()
    {
        var catalogue = Catalogue(10);
        using var host = new ScorerHost();
        var (scorer, sha) = models.CreateBase(dropout: 0);
        host.Publish(ScorerSnapshot.Build(scorer, catalogue, new ScorerVersion(1, "v1", sha), MaxLength));
        var user = host.EmbedUsers([ScorerUser.OfText("buys shoes. love running")]);
        var ids = new long[] { 3, 11, 12 };
        var before = host.ScoreUserVector(user.Version, user.Vectors[0], ids)!.Probabilities;
        var edited = catalogue.Select(i => i.Id == 3 ? i with { Text = "item 3. now a kettle" } : i)
            .Append(new CatalogueItem(11, "item 11. running shoes")).Append(new CatalogueItem(12, "item 12. a novel")).ToList();

        var embedded = host.EmbedChangedItems(edited);
        var after = host.ScoreUserVector(user.Version, user.Vectors[0], ids)!.Probabilities;
        var (freshScorer, _) = models.CreateBase(dropout: 0);
        using var freshHost = new ScorerHost();
        freshHost.Publish(ScorerSnapshot.Build(freshScorer, edited, new ScorerVersion(1, "v1", sha), MaxLength));
        var fresh = freshHost.ScoreUserVector(user.Version, user.Vectors[0], ids)!.Probabilities;
        var catalogueAfter = host.EmbedCatalogue();

        Assert.Multiple(() =>
        {
            Assert.That(embedded, Is.EqualTo(3), "one edited and two new items, the other nine untouched");
            Assert.That(before.Skip(1), Has.All.NaN, "before, the new items had no vector");
            Assert.That(after, Is.EqualTo(fresh).Within(1e-5f));
            Assert.That(after[0], Is.Not.EqualTo(before[0]), "the edited item scores from its new text");
            Assert.That(host.EmbedChangedItems(edited), Is.Zero, "a second pass finds nothing to do");
            Assert.That(catalogueAfter.ItemIds, Is.EqualTo(Enumerable.Range(1, 12).Select(i => (long)i)));
            Assert.That(Row(catalogueAfter, 3), Is.EqualTo(Row(freshHost.EmbedCatalogue(), 3)).Within(1e-5f));
            Assert.That(host.EmbedItems([12]).Vectors[0], Is.EqualTo(Row(catalogueAfter, 12)));
        });
    }

    [Test]
    public async Task ItemVectorRefresh_WhenAnItemIsAddedToTheDatabase_EmbedsItWithoutASwap()
    {
        var paths = new DataPaths(dataDirectory);
        var services = new ServiceCollection()
            .AddDbContext<DiscountsDbContext>(o => o.UseDiscountsSqlite(paths))
            .BuildServiceProvider();
        await using (services)
        {
            await using (var scope = services.CreateAsyncScope())
            {
                var setup = scope.ServiceProvider.GetRequiredService<DiscountsDbContext>();
                await DatabaseSetup.MigrateAsync(setup, CancellationToken.None);
                setup.Items.AddRange(Enumerable.Range(1, 5).Select(i => NewItem($"sku-{i}")));
                await setup.SaveChangesAsync();
            }

            using var host = new ScorerHost();
            await using (var scope = services.CreateAsyncScope())
            {
                var items = await CatalogueTexts.LoadAsync(scope.ServiceProvider.GetRequiredService<DiscountsDbContext>(), CancellationToken.None);
                var (scorer, sha) = models.CreateBase(dropout: 0);
                host.Publish(ScorerSnapshot.Build(scorer, items, new ScorerVersion(null, "base", sha), MaxLength));
            }

            long added;
            await using (var scope = services.CreateAsyncScope())
            {
                var db = scope.ServiceProvider.GetRequiredService<DiscountsDbContext>();
                var item = NewItem("sku-new");
                db.Items.Add(item);
                await db.SaveChangesAsync();
                added = item.Id;
            }

            var user = host.EmbedUsers([ScorerUser.OfText("buys books")]);
            var options = Options.Create(new FineTuneOptions { ScorerBase = ScorerBase.Tiny, ServingItemRefreshSeconds = 1, ServingMaxSequenceLength = MaxLength });
            using var refresh = new ItemVectorRefresh(services.GetRequiredService<IServiceScopeFactory>(), host, options,
                Microsoft.Extensions.Logging.Abstractions.NullLogger<ItemVectorRefresh>.Instance);
            var before = host.ScoreUserVector(user.Version, user.Vectors[0], [added])!.Probabilities[0];
            await refresh.StartAsync(CancellationToken.None);
            var deadline = DateTime.UtcNow.AddSeconds(30);
            var after = float.NaN;
            while (float.IsNaN(after) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
                after = host.ScoreUserVector(user.Version, user.Vectors[0], [added])!.Probabilities[0];
            }

            await refresh.StopAsync(CancellationToken.None);
            Assert.Multiple(() =>
            {
                Assert.That(before, Is.NaN);
                Assert.That(after, Is.InRange(0f, 1f), "the new item was embedded into the serving snapshot");
                Assert.That(host.EmbedCatalogue().ItemIds, Has.Count.EqualTo(6));
            });
        }
    }

    private static Item NewItem(string externalId) => new()
    {
        ExternalId = externalId, Title = $"thing {externalId}", Category = "books", PriceCents = 1000, CostCents = 500, CreatedAt = DateTime.UtcNow, UpdatedAt = DateTime.UtcNow,
    };

    private (ItemEmbeddingCounts Counts, CatalogueEmbedding Embedding) BuildAndRead(
        IReadOnlyList<CatalogueItem> catalogue, string sha, bool useFile = true, int maxLength = MaxLength)
    {
        var (scorer, _) = models.CreateBase(dropout: 0);
        var snapshot = ScorerSnapshot.Build(scorer, catalogue, new ScorerVersion(1, "v1", sha), maxLength,
            useFile ? new ItemEmbeddingFile(store, FilePath) : null);
        using var host = new ScorerHost();
        host.Publish(snapshot);
        return (snapshot.ItemCounts, host.EmbedCatalogue());
    }

    private static List<CatalogueItem> Catalogue(int count) => Enumerable.Range(1, count)
        .Select(i => new CatalogueItem(i, UserSide.ItemSideText($"item {i}", i % 2 == 0 ? "shoes" : "books", "acme", $"a red thing number {i}")))
        .ToList();

    private static float[] Row(CatalogueEmbedding embedding, long itemId)
    {
        var row = embedding.ItemIds.ToList().IndexOf(itemId);
        return embedding.Vectors.AsSpan(row * embedding.Dimension, embedding.Dimension).ToArray();
    }

    private static int[] Bits(float[] values) => [.. values.Select(BitConverter.SingleToInt32Bits)];

    private static byte[] Flip(byte[] bytes, int at)
    {
        bytes[at] ^= 0x10;
        return bytes;
    }

    private sealed class ListLogger : ILogger<ItemEmbeddingStore>
    {
        public List<string> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Lines) Lines.Add(formatter(state, exception));
        }
    }
}
