using Discounts.Core.Data;
using Discounts.Core.Domain;
using Discounts.Training.FineTuning;
using Discounts.Training.Scorer;
using Discounts.Training.Runtime;
using Discounts.Training.Serving;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Discounts.Tests.Training;

/// <summary>Corrupted, truncated and missing weights at startup: the host serves the last good version, else the base, and says why.</summary>
public sealed class ModelFallbackTests
{
    private string dataDirectory = "";
    private DataPaths paths = null!;
    private ScorerModels models = null!;
    private DiscountsDbContext db = null!;

    [SetUp]
    public async Task CreateShop()
    {
        dataDirectory = Directory.CreateTempSubdirectory("discounts-fallback-").FullName;
        paths = new DataPaths(dataDirectory);
        var training = Options.Create(new TrainingOptions { Device = "cpu" });
        models = new ScorerModels(Options.Create(new FineTuneOptions { ScorerBase = ScorerBase.Tiny }), training, new TorchRuntime(training), paths);
        db = new DiscountsDbContext(new DbContextOptionsBuilder<DiscountsDbContext>().UseDiscountsSqlite(paths).Options);
        await DatabaseSetup.MigrateAsync(db, CancellationToken.None);
        var now = DateTime.UtcNow;
        db.Items.AddRange(Enumerable.Range(1, 12).Select(i => new Item
        {
            ExternalId = $"sku-{i}", Title = $"thing {i}", Category = i % 2 == 0 ? "shoes" : "books", PriceCents = 1000, CostCents = 500, CreatedAt = now, UpdatedAt = now,
        }));
        await db.SaveChangesAsync();
    }

    [TearDown]
    public async Task RemoveShop()
    {
        await db.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(dataDirectory, recursive: true);
    }

    [Test]
    public async Task LoadAtStartup_WhenActiveWeightsAreTruncated_ServesTheLastGoodVersionAndLogsWhy()
    {
        var older = await RegisterAsync("older", ModelStatus.Retired, DateTime.UtcNow.AddHours(-2));
        var active = await RegisterAsync("active", ModelStatus.Active, DateTime.UtcNow.AddHours(-1));
        Truncate(active.WeightsPath);
        var logs = new ListLogger();
        using var host = new ScorerHost();

        await Activation(host, logs).LoadAtStartupAsync(CancellationToken.None);

        var statuses = await db.ModelVersions.AsNoTracking().ToDictionaryAsync(m => m.Id, m => m.Status);
        Assert.Multiple(() =>
        {
            Assert.That(host.ActiveVersion?.ModelVersionId, Is.EqualTo(older.Id));
            Assert.That(statuses[older.Id], Is.EqualTo(ModelStatus.Active), "the registry says what is serving");
            Assert.That(statuses[active.Id], Is.EqualTo(ModelStatus.Retired));
            Assert.That(logs.Lines, Has.Some.Contains($"Model version {active.Id} (active) was refused at startup").And.Contains("sha256"));
            Assert.That(logs.Lines, Has.Some.Contains($"Fell back to the last good model version {older.Id}"));
            Assert.That(host.Score([new Discounts.Core.Scoring.ScoringPair("buys shoes", 2)]).Probabilities[0], Is.InRange(0f, 1f));
        });
    }

    [Test]
    public async Task LoadAtStartup_WhenEveryVersionIsCorruptOrMissing_ServesTheBaseModelAndLogsWhy()
    {
        var older = await RegisterAsync("older", ModelStatus.Retired, DateTime.UtcNow.AddHours(-2));
        var active = await RegisterAsync("active", ModelStatus.Active, DateTime.UtcNow.AddHours(-1));
        File.Delete(older.WeightsPath);
        // Same length, one flipped byte: only the checksum can tell.
        var bytes = await File.ReadAllBytesAsync(active.WeightsPath);
        bytes[^10] ^= 0xFF;
        await File.WriteAllBytesAsync(active.WeightsPath, bytes);
        var logs = new ListLogger();
        using var host = new ScorerHost();

        await Activation(host, logs).LoadAtStartupAsync(CancellationToken.None);

        Assert.Multiple(async () =>
        {
            Assert.That(host.ActiveVersion?.ModelVersionId, Is.Null);
            Assert.That(host.ActiveVersion?.Name, Is.EqualTo("base"));
            Assert.That(await db.ModelVersions.CountAsync(m => m.Status == ModelStatus.Active), Is.Zero);
            Assert.That(logs.Lines, Has.Some.Contains("No registered model version loaded (2 refused); serving the base model"));
        });
    }

    [Test]
    public async Task LoadAtStartup_WhenActiveFileIsMissingOnThisNode_ServesLastGoodLeavesRegistryAndFollowsOnceReadable()
    {
        var older = await RegisterAsync("older", ModelStatus.Retired, DateTime.UtcNow.AddHours(-2));
        var active = await RegisterAsync("active", ModelStatus.Active, DateTime.UtcNow.AddHours(-1));
        File.Move(active.WeightsPath, active.WeightsPath + ".elsewhere");
        var logs = new ListLogger();
        using var host = new ScorerHost();

        await Activation(host, logs).LoadAtStartupAsync(CancellationToken.None);

        var statuses = await db.ModelVersions.AsNoTracking().ToDictionaryAsync(m => m.Id, m => m.Status);
        Assert.Multiple(() =>
        {
            Assert.That(host.ActiveVersion?.ModelVersionId, Is.EqualTo(older.Id));
            Assert.That(statuses[active.Id], Is.EqualTo(ModelStatus.Active), "a file missing on one node says nothing about the others");
            Assert.That(statuses[older.Id], Is.EqualTo(ModelStatus.Retired));
            Assert.That(logs.Lines, Has.Some.Contains($"active model version {active.Id} (active) cannot be read on this node; serving older"));
        });

        File.Move(active.WeightsPath + ".elsewhere", active.WeightsPath);
        var followed = await Activation(host, logs).FollowRegistryAsync(new HashSet<string>(), CancellationToken.None);

        Assert.That(followed?.ModelVersionId, Is.EqualTo(active.Id));
        Assert.That(host.ActiveVersion?.ModelVersionId, Is.EqualTo(active.Id));
    }

    [Test]
    public async Task ActivateAsync_WhenTwoActivationsOverlap_ExactlyOneVersionIsActiveAndItIsTheOneServing()
    {
        var first = await RegisterAsync("first", ModelStatus.Candidate, DateTime.UtcNow.AddHours(-2));
        var second = await RegisterAsync("second", ModelStatus.Active, DateTime.UtcNow.AddHours(-1));
        using var host = new ScorerHost();
        var options = new DbContextOptionsBuilder<DiscountsDbContext>().UseDiscountsSqlite(paths).Options;

        for (var round = 0; round < 20; round++)
        {
            await using var one = new DiscountsDbContext(options);
            await using var two = new DiscountsDbContext(options);
            await Task.WhenAll(
                Task.Run(() => Activation(host, new ListLogger(), one).ActivateAsync(first.Id, CancellationToken.None)),
                Task.Run(() => Activation(host, new ListLogger(), two).ActivateAsync(second.Id, CancellationToken.None)));

            var active = await db.ModelVersions.AsNoTracking().Where(m => m.Status == ModelStatus.Active).Select(m => m.Id).ToListAsync();
            Assert.That(active, Has.Count.EqualTo(1), $"round {round}");
            Assert.That(host.ActiveVersion?.ModelVersionId, Is.EqualTo(active[0]), $"round {round}: the registry names the version serving");
        }
    }

    [Test]
    public void CreateBase_WhenConfiguredBaseModelFolderIsMissing_SaysWhichSettingAndWhatToPutThere()
    {
        var training = Options.Create(new TrainingOptions { Device = "cpu", BaseModelPath = Path.Combine(dataDirectory, "no-such-model") });
        var pretrained = new ScorerModels(Options.Create(new FineTuneOptions { ScorerBase = ScorerBase.Pretrained }), training, new TorchRuntime(training), paths);

        var error = Assert.Throws<FileNotFoundException>(() => pretrained.CreateBase(dropout: 0));

        Assert.That(error!.Message, Does.Contain("Training:BaseModelPath").And.Contain("config.json").And.Contain("leave it empty"));
    }

    [Test]
    public void TrainingOptions_WhenBaseModelPathHasNoModel_FailValidationNamingTheSetting()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Training:BaseModelPath"] = dataDirectory })
            .Build();
        using var services = new ServiceCollection().AddLogging().AddTorchRuntime(configuration).BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => _ = services.GetRequiredService<IOptions<TrainingOptions>>().Value);

        Assert.That(error!.Message, Does.Contain("Training:BaseModelPath").And.Contain("model.safetensors"));
    }

    private ScorerActivation Activation(ScorerHost host, ILogger<ScorerActivation> logger, DiscountsDbContext? context = null) =>
        new(context ?? db, models, host, Options.Create(new FineTuneOptions { ScorerBase = ScorerBase.Tiny }), TimeProvider.System, logger);

    private async Task<ModelVersion> RegisterAsync(string name, ModelStatus status, DateTime activatedAt)
    {
        var (scorer, _) = models.CreateBase(dropout: 0);
        var path = Path.Combine(models.ScorerFolder, $"{name}.safetensors");
        string sha;
        using (scorer)
        {
            sha = ScorerModels.SaveAtomically(scorer.Model, path);
        }

        var version = new ModelVersion { Name = name, Status = status, WeightsPath = path, Sha256 = sha, CreatedAt = activatedAt, ActivatedAt = activatedAt };
        db.ModelVersions.Add(version);
        await db.SaveChangesAsync();
        return version;
    }

    private static void Truncate(string path)
    {
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
    }

    private sealed class ListLogger : ILogger<ScorerActivation>
    {
        public List<string> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Lines)
            {
                Lines.Add(formatter(state, exception));
            }
        }
    }
}
