using System.Diagnostics;
using System.Text.Json;
using Discounts.Core.Data;
using Discounts.Core.Demo;
using Discounts.Core.Domain;
using Discounts.Training.FineTuning;
using Discounts.Training.Scorer;
using Discounts.Training.Runtime;
using Discounts.Training.Serving;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Discounts.Tests.Training;

/// <summary>The real base (all-MiniLM-L6-v2) fine-tuned on the demo shop with the default hyperparameters.</summary>
[TestFixture]
[Category("Slow")]
public sealed class FineTuneMiniLmTests
{
    [Test]
    public async Task RunAsync_WhenMiniLmFineTunesOnDemoShop_BeatsBaseHitRateAtTen()
    {
        var dataDirectory = Directory.CreateTempSubdirectory("discounts-minilm-").FullName;
        try
        {
            var paths = new DataPaths(dataDirectory);
            await using var db = new DiscountsDbContext(new DbContextOptionsBuilder<DiscountsDbContext>().UseDiscountsSqlite(paths).Options);
            await DatabaseSetup.MigrateAsync(db, CancellationToken.None);
            await DemoSeeder.SeedIfEmptyAsync(db, new DemoShopOptions(), DateTime.UtcNow, CancellationToken.None);

            var training = Options.Create(new TrainingOptions { Device = "cpu", BaseModelPath = BaseModelFixture.Store.EnsureConverted() });
            var options = Options.Create(new FineTuneOptions { ScorerBase = ScorerBase.Pretrained });
            var models = new ScorerModels(options, training, new TorchRuntime(training), paths);
            using var host = new ScorerHost();
            var activation = new ScorerActivation(db, models, host, options, TimeProvider.System, NullLogger<ScorerActivation>.Instance);
            var started = Stopwatch.GetTimestamp();
            await activation.PublishBaseAsync(CancellationToken.None);
            var baseLoad = Stopwatch.GetElapsedTime(started);
            var run = new TrainingRun
            {
                Status = TrainingRunStatus.Queued, CreatedAt = DateTime.UtcNow,
                HyperparametersJson = JsonSerializer.Serialize(new FineTuneHyperparameters(), FineTuneRunner.Json),
            };
            db.TrainingRuns.Add(run);
            await db.SaveChangesAsync();
            var runner = new FineTuneRunner(db, models, host, activation, new TrainingCancellations(), TimeProvider.System, NullLogger<FineTuneRunner>.Instance);

            started = Stopwatch.GetTimestamp();
            await runner.RunAsync(run.Id, null, CancellationToken.None);
            var elapsed = Stopwatch.GetElapsedTime(started);
            await db.Entry(run).ReloadAsync();
            var outcome = JsonSerializer.Deserialize<FineTuneOutcome>(run.MetricsJson, FineTuneRunner.Json);
            var losses = await db.LossPoints.Where(p => p.TrainingRunId == run.Id && p.Split == LossSplit.Train).OrderBy(p => p.Step).Select(p => p.Loss).ToListAsync();
            TestContext.Out.WriteLine($"base scorer load {baseLoad.TotalSeconds:F1} s; run {elapsed.TotalSeconds:F1} s; status {run.Status} {run.Error}");
            TestContext.Out.WriteLine($"snapshot {run.DatasetSnapshotJson}");
            TestContext.Out.WriteLine($"train loss first {losses.FirstOrDefault():F4}, last {losses.LastOrDefault():F4}; metrics {run.MetricsJson}");

            Assert.That(run.Status, Is.EqualTo(TrainingRunStatus.Succeeded), run.Error);
            Assert.Multiple(() =>
            {
                Assert.That(outcome!.FineTuned.HitRate10, Is.GreaterThan(outcome.Base.HitRate10));
                Assert.That(outcome.Promoted, Is.True);
                Assert.That(host.ActiveVersion?.ModelVersionId, Is.EqualTo(outcome.ModelVersionId));
            });
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dataDirectory, recursive: true);
        }
    }
}
