using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Discounts.Core.Data;
using Discounts.Core.Scoring;
using Discounts.Core.Serving;
using Discounts.Core.Domain;
using Discounts.Training.FineTuning;
using Discounts.Training.Scorer;
using Discounts.Web.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Discounts.Tests.Web;

/// <summary>The fine-tuning job end to end in the test host, with the tiny scorer. Runs are one at a time, so each test waits for its own.</summary>
[NonParallelizable]
public sealed class TrainingEndpointTests
{
    // Generous: with the blend being refitted for each newly served scorer, a run can wait minutes for a free core.
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(300);

    [Test]
    public async Task StartTrainingRun_WhenTinyScorerTrains_RecordsFallingLossRegistersVersionAndSwapsIt()
    {
        using var client = TestHost.Client(ApiRole.Scientist);
        await WaitUntilIdleAsync(client);

        var response = await client.PostAsJsonAsync("/api/training/runs", new
        {
            epochs = 2, batchSize = 16, learningRate = 0.003, warmupFraction = 0.1, maxExamplesPerEpoch = 256,
            logEverySteps = 2, maxValidationUsers = 40, freezeEmbeddings = true, forcePromote = true,
        });
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await response.Content.ReadAsStringAsync());
        var runId = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();

        var run = await WaitForEndAsync(client, runId);
        var loss = (await client.GetFromJsonAsync<JsonElement>($"/api/training/runs/{runId}/loss")).GetProperty("points").EnumerateArray().ToList();
        var train = loss.Where(p => p.GetProperty("split").GetString() == "train").Select(p => p.GetProperty("loss").GetDouble()).ToList();
        var validation = loss.Where(p => p.GetProperty("split").GetString() == "validation").ToList();
        var models = await client.GetFromJsonAsync<JsonElement>("/api/models");
        var registered = models.GetProperty("models").EnumerateArray()
            .Single(m => m.TryGetProperty("trainingRunId", out var id) && id.ValueKind == JsonValueKind.Number && id.GetInt64() == runId);
        var runs = (await client.GetFromJsonAsync<JsonElement>("/api/training/runs")).GetProperty("runs").EnumerateArray().ToList();
        var scorer = TestHost.Factory.Services.GetRequiredService<IScorer>();
        var metrics = run.GetProperty("metrics");
        TestContext.Out.WriteLine($"train loss {string.Join(", ", train.Select(l => l.ToString("F3")))}; metrics {metrics}");

        Assert.Multiple(() =>
        {
            Assert.That(run.GetProperty("status").GetString(), Is.EqualTo("succeeded"), run.ToString());
            Assert.That(train, Has.Count.GreaterThanOrEqualTo(6));
            Assert.That(train.TakeLast(3).Average(), Is.LessThan(train.Take(3).Average()), "the train loss falls");
            Assert.That(validation, Has.Count.EqualTo(2), "one validation point per epoch");
            Assert.That(run.GetProperty("datasetSnapshot").GetProperty("examplesSha256").GetString(), Has.Length.EqualTo(64));
            Assert.That(metrics.GetProperty("base").GetProperty("rankingUsers").GetInt32(), Is.EqualTo(40));
            Assert.That(metrics.GetProperty("promoted").GetBoolean(), Is.True);
            Assert.That(registered.GetProperty("status").GetString(), Is.EqualTo("active"));
            Assert.That(registered.GetProperty("sha256").GetString(), Has.Length.EqualTo(64));
            Assert.That(scorer.ActiveVersion?.ModelVersionId, Is.EqualTo(registered.GetProperty("id").GetInt64()));
            Assert.That(runs[0].GetProperty("id").GetInt64(), Is.EqualTo(runId), "newest first");
        });
    }

    [Test]
    public async Task StartTrainingRun_WhenSequenceScorerTrains_ServesAVersionThatReadsTheUsersRecentItems()
    {
        using var client = TestHost.Client(ApiRole.Scientist);
        await WaitUntilIdleAsync(client);

        var response = await client.PostAsJsonAsync("/api/training/runs", new
        {
            model = "sequence", forcePromote = true,
            sequence = new { epochs = 2, members = 2, batchSize = 128, uniformNegatives = 64, maxMinutes = 3.0 },
        });
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await response.Content.ReadAsStringAsync());
        var runId = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();

        var run = await WaitForEndAsync(client, runId);
        var metrics = run.GetProperty("metrics");
        var curve = (await client.GetFromJsonAsync<JsonElement>($"/api/training/runs/{runId}/metrics")).GetProperty("epochs").EnumerateArray().ToList();
        var registered = (await client.GetFromJsonAsync<JsonElement>("/api/models")).GetProperty("models").EnumerateArray()
            .Single(m => m.TryGetProperty("trainingRunId", out var id) && id.ValueKind == JsonValueKind.Number && id.GetInt64() == runId);
        var scorer = TestHost.Factory.Services.GetRequiredService<IScorer>();
        TestContext.Out.WriteLine($"metrics {metrics}");

        Assert.Multiple(() =>
        {
            Assert.That(run.GetProperty("status").GetString(), Is.EqualTo("succeeded"), run.ToString());
            Assert.That(curve, Has.Count.EqualTo(4), "a validation NDCG@10 per member and epoch");
            Assert.That(metrics.GetProperty("fineTuned").GetProperty("rankingUsers").GetInt32(), Is.GreaterThan(0));
            Assert.That(metrics.GetProperty("base").GetProperty("rankingUsers").GetInt32(),
                Is.EqualTo(metrics.GetProperty("fineTuned").GetProperty("rankingUsers").GetInt32()), "base and fine-tuned are judged on the same users");
            Assert.That(metrics.GetProperty("promotionNote").GetString(), Does.Contain("sign test"));
            Assert.That(metrics.GetProperty("promoted").GetBoolean(), Is.True);
            Assert.That(registered.GetProperty("status").GetString(), Is.EqualTo("active"));
            Assert.That(scorer.ActiveVersion?.ModelVersionId, Is.EqualTo(registered.GetProperty("id").GetInt64()));
            Assert.That(scorer.ActiveVersion?.ReadsHistory, Is.True);
        });

        var items = scorer.EmbedCatalogue().ItemIds;
        var users = scorer.EmbedUsers([new ScorerUser("", [items[0], items[1]]), new ScorerUser("", [items[2], items[3]]), new ScorerUser("", [items[1], items[0]])]);
        var probabilities = scorer.ScoreUserVector(users.Version, users.Vectors[0], items.Take(50).ToList())!.Probabilities;
        Assert.Multiple(() =>
        {
            Assert.That(users.Vectors[0], Is.Not.EqualTo(users.Vectors[1]), "other recent items, another user vector");
            Assert.That(users.Vectors[0], Is.Not.EqualTo(users.Vectors[2]), "the newest item leads");
            Assert.That(probabilities, Has.All.InRange(0f, 1f));
            Assert.That(probabilities.Distinct().Count(), Is.GreaterThan(1));
        });

        // The recommender's user vector for this version is keyed by the user's newest event as well as their profile.
        var recommendations = TestHost.Factory.Services.GetRequiredService<IRecommendationService>();
        await using (var scope = TestHost.Factory.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<DiscountsDbContext>();
            var profile = await db.Profiles.AsNoTracking().Where(p => p.ProfileText != "" && db.Events.Any(e => e.UserId == p.UserId && e.Kind == EventKind.Click))
                .OrderBy(p => p.UserId).FirstAsync();
            var lastEvent = await db.Events.Where(e => e.UserId == profile.UserId).MaxAsync(e => e.Id);
            var history = await db.Events.Where(e => e.UserId == profile.UserId).OrderByDescending(e => e.OccurredAt).Select(e => new { e.ItemId, e.Kind }).ToListAsync();
            var texts = await db.UserTexts.Where(t => t.UserId == profile.UserId).OrderByDescending(t => t.OccurredAt).ThenByDescending(t => t.Id)
                .Take(ScorerHistory.MaxTexts).Select(t => t.Text).ToListAsync();
            var version = scorer.ActiveVersion!;
            float[]? vector = null;
            var deadline = DateTime.UtcNow + RunTimeout;
            while ((vector = recommendations.UserVector(profile.UserId, profile.Version, profile.ProfileText, version, lastEvent)) is null)
            {
                Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "the user's vector was never embedded");
                await Task.Delay(50);
            }

            var expected = scorer.EmbedUsers([new ScorerUser(profile.ProfileText, ScorerHistory.Recent(history.Select(e => (e.ItemId, e.Kind))), texts)]).Vectors[0];
            Assert.Multiple(() =>
            {
                Assert.That(vector, Is.EqualTo(expected).Within(1e-5f), "read from the user's recent items and texts");
                Assert.That(recommendations.UserVector(profile.UserId, profile.Version, profile.ProfileText, version, lastEvent + 1_000_000), Is.Null,
                    "after a newer event the cached vector is stale");
                Assert.That(recommendations.UserVector(profile.UserId, profile.Version, profile.ProfileText, version), Is.Not.Null,
                    "a quote takes the newest vector known");
            });
        }

        // The same run again (same seed, same data) learns the model that serves: not clearly better, so not promoted.
        var again = await client.PostAsJsonAsync("/api/training/runs", new
        {
            model = "sequence", sequence = new { epochs = 2, members = 2, batchSize = 128, uniformNegatives = 64, maxMinutes = 3.0 },
        });
        Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await again.Content.ReadAsStringAsync());
        var secondId = (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        var second = (await WaitForEndAsync(client, secondId)).GetProperty("metrics");
        var candidate = (await client.GetFromJsonAsync<JsonElement>("/api/models")).GetProperty("models").EnumerateArray()
            .Single(m => m.TryGetProperty("trainingRunId", out var id) && id.ValueKind == JsonValueKind.Number && id.GetInt64() == secondId);
        TestContext.Out.WriteLine($"second run {second}");
        Assert.Multiple(() =>
        {
            Assert.That(second.GetProperty("active").GetProperty("rankingUsers").GetInt32(), Is.GreaterThan(0), "judged against the serving version");
            Assert.That(second.GetProperty("promoted").GetBoolean(), Is.False);
            Assert.That(second.GetProperty("promotionNote").GetString(), Does.Contain("stays a candidate"));
            Assert.That(candidate.GetProperty("status").GetString(), Is.EqualTo("candidate"));
            Assert.That(scorer.ActiveVersion?.ModelVersionId, Is.EqualTo(registered.GetProperty("id").GetInt64()), "the first version still serves");
        });
    }

    [Test]
    public async Task SequenceShopData_WhenLoaded_NoEventOrTextAfterAChoiceReachesItsHistory()
    {
        await using var scope = TestHost.Factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<DiscountsDbContext>();
        var data = await SequenceShopData.LoadAsync(db, validationDays: 30, maxValidationUsers: 100, seed: 3, CancellationToken.None);
        var cutoff = data.Snapshot.ValidationFrom;
        var chosen = (await db.Events.Where(e => ScorerHistory.Kinds.Contains(e.Kind)).Select(e => new { e.UserId, e.ItemId, e.OccurredAt }).ToListAsync())
            .GroupBy(e => (e.UserId, e.ItemId)).ToDictionary(g => g.Key, g => g.Min(e => e.OccurredAt));
        var texts = await db.UserTexts.Select(t => new { t.UserId, t.Text, t.OccurredAt }).ToListAsync();
        var earlier = texts.Where(t => t.OccurredAt <= cutoff).Select(t => (t.UserId, t.Text)).ToHashSet();
        // A text also written before the cut-off may rightly be read; only words first written after it must not.
        var laterTexts = texts.Where(t => t.OccurredAt > cutoff && !earlier.Contains((t.UserId, t.Text))).ToList();
        // Generated searches repeat inside longer texts: a later text found within an earlier one proves nothing.
        var earlierByUser = texts.Where(t => t.OccurredAt <= cutoff).ToLookup(t => t.UserId, t => t.Text);
        var items = data.Items.Count;

        Assert.That(data.Examples, Is.Not.Empty);
        Assert.That(data.Examples.Any(e => e.History.Any(row => row >= items)), Is.True, "histories hold users' texts");
        Assert.That(data.Validation, Is.Not.Empty);
        Assert.Multiple(() =>
        {
            foreach (var example in data.Examples)
            {
                Assert.That(example.ChosenAt, Is.LessThanOrEqualTo(cutoff), "no training choice after the cut-off");
                foreach (var row in example.History)
                {
                    if (row >= items)
                    {
                        var text = data.UserTexts[row - items];
                        Assert.That(text.UserId, Is.EqualTo(example.UserId), "only the user's own texts");
                        Assert.That(text.OccurredAt, Is.LessThan(example.ChosenAt), "a text written after the choice it explains");
                    }
                    else
                    {
                        Assert.That(chosen[(example.UserId, data.Items[row].Id)], Is.LessThan(example.ChosenAt), "an item first chosen after the choice it explains");
                    }
                }
            }

            foreach (var choice in data.Validation)
            {
                Assert.That(choice.History.All(id => chosen[(choice.UserId, id)] <= cutoff), Is.True, $"user {choice.UserId}: history only from before the cut-off");
                Assert.That(chosen[(choice.UserId, choice.Target)], Is.GreaterThan(cutoff), "the target is first chosen after the cut-off");
                foreach (var text in laterTexts.Where(t => t.UserId == choice.UserId))
                {
                    Assert.That(choice.Input.RecentTexts, Does.Not.Contain(text.Text), "a text written after the cut-off");
                    if (text.Text.Length > 20 && !earlierByUser[choice.UserId].Any(e => e.Contains(text.Text, StringComparison.Ordinal)))
                        Assert.That(choice.Input.Text, Does.Not.Contain(text.Text));
                }
            }
        });
    }

    [Test]
    public async Task TrainingData_WhenLoadedTwiceWithOneSeed_HasTheSameExampleHash()
    {
        await using var scope = TestHost.Factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<DiscountsDbContext>();
        var first = await TrainingData.LoadAsync(db, new FineTuneHyperparameters { Seed = 5 }, CancellationToken.None);
        var second = await TrainingData.LoadAsync(db, new FineTuneHyperparameters { Seed = 5 }, CancellationToken.None);
        var other = await TrainingData.LoadAsync(db, new FineTuneHyperparameters { Seed = 6 }, CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(second.Snapshot, Is.EqualTo(first.Snapshot));
            Assert.That(other.Snapshot.ExamplesSha256, Is.Not.EqualTo(first.Snapshot.ExamplesSha256));
            Assert.That(first.Snapshot.TrainPositives, Is.GreaterThan(0));
            Assert.That(first.Train.Where(e => e.Bought).Select(e => (e.UserId, e.ItemId)).Intersect(first.Train.Where(e => !e.Bought).Select(e => (e.UserId, e.ItemId))),
                Is.Empty, "no pair is both a positive and a negative");
            Assert.That(first.Snapshot.ValidationFrom, Is.GreaterThan(first.Snapshot.HistoryFrom));
        });
    }

    [Test]
    public async Task TrainingData_WhenUserHasStoredProfile_UsesItsProfileTextAsTheUserSide()
    {
        await using var scope = TestHost.Factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<DiscountsDbContext>();
        var userId = await db.Users.MaxAsync(u => u.Id);
        var profile = await db.Profiles.SingleOrDefaultAsync(p => p.UserId == userId);
        var original = profile?.ProfileText;
        if (profile is null)
        {
            profile = new Discounts.Core.Domain.UserProfile { UserId = userId, UpdatedAt = DateTime.UtcNow };
            db.Profiles.Add(profile);
        }
        profile.ProfileText = "likes: marker-category | keywords: marker";
        await db.SaveChangesAsync();
        try
        {
            var data = await TrainingData.LoadAsync(db, new FineTuneHyperparameters(), CancellationToken.None);
            Assert.That(data.UserTexts[userId], Is.EqualTo("likes: marker-category | keywords: marker"));
        }
        finally
        {
            if (original is null) db.Profiles.Remove(profile);
            else profile.ProfileText = original;
            await db.SaveChangesAsync();
        }
    }

    [Test]
    public async Task StartTrainingRun_WhenHyperparametersAreOutOfRange_Returns400NamingThem()
    {
        using var client = TestHost.Client(ApiRole.Scientist);
        var response = await client.PostAsJsonAsync("/api/training/runs", new { epochs = 0, learningRate = -1.0 });
        var problem = await response.AssertFieldErrorAsync("epochs");
        Assert.That(problem.GetProperty("errors").TryGetProperty("learningRate", out _), Is.True, problem.ToString());

        var sequence = await client.PostAsJsonAsync("/api/training/runs", new { model = "sequence", sequence = new { members = 0, learningRate = -1.0, maxMinutes = 0 } });
        var sequenceProblem = await sequence.AssertFieldErrorAsync("sequence.members");
        Assert.That(sequenceProblem.GetProperty("errors").TryGetProperty("sequence.learningRate", out _), Is.True, sequenceProblem.ToString());
        Assert.That(sequenceProblem.GetProperty("errors").TryGetProperty("sequence.maxMinutes", out _), Is.True, sequenceProblem.ToString());

        var unknownModel = await client.PostAsJsonAsync("/api/training/runs", new { model = "gpt" });
        var modelProblem = await unknownModel.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.That(modelProblem.ToString(), Does.Contain("model"), "the problem names the field");
    }

    [Test]
    public async Task StartTrainingRun_WhenAnalystAsks_IsForbidden()
    {
        using var client = TestHost.Client(ApiRole.Analyst);
        var response = await client.PostAsJsonAsync("/api/training/runs", new { epochs = 1 });
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
    }

    [Test]
    public async Task CancelTrainingRun_WhenRunIsTraining_SecondStartIs409AndCancelStopsItWithActiveModelUnchanged()
    {
        using var client = TestHost.Client(ApiRole.Scientist);
        await WaitUntilIdleAsync(client);
        var scorer = TestHost.Factory.Services.GetRequiredService<IScorer>();
        await WaitForScorerAsync(scorer);
        var servingBefore = scorer.ActiveVersion;
        var logMark = CapturedLogs.Instance.Mark;

        var response = await client.PostAsJsonAsync("/api/training/runs", new
        {
            epochs = 50, batchSize = 8, maxExamplesPerEpoch = 100_000, logEverySteps = 1, maxValidationUsers = 5,
        });
        var runId = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        var second = await client.PostAsJsonAsync("/api/training/runs", new { epochs = 1 });
        await second.AssertProblemAsync(HttpStatusCode.Conflict);

        // Wait until the loop is stepping: a train loss point exists.
        var deadline = DateTime.UtcNow + RunTimeout;
        while ((await client.GetFromJsonAsync<JsonElement>($"/api/training/runs/{runId}/loss")).GetProperty("points").GetArrayLength() == 0)
        {
            // A run that ended before its first step would otherwise be waited on until the deadline, its error unseen.
            var pending = await client.GetFromJsonAsync<JsonElement>($"/api/training/runs/{runId}");
            // Warnings and errors only, and the run last: CI shows the tail of a long failure message.
            string Story() => string.Join('\n', CapturedLogs.Instance.Since(logMark)
                .Where(line => line.StartsWith("Warning", StringComparison.Ordinal) || line.StartsWith("Error", StringComparison.Ordinal)
                               || line.StartsWith("Critical", StringComparison.Ordinal))
                .TakeLast(10).Select(line => line.Length > 2000 ? line[..2000] : line).Append(pending.ToString()));
            Assert.That(pending.GetProperty("status").GetString(), Is.AnyOf("queued", "running"), Story);
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), () => $"the run never started training: {Story()}");
            await Task.Delay(100);
        }
        var cancel = await client.PostAsync($"/api/training/runs/{runId}/cancel", null);
        var run = await WaitForEndAsync(client, runId);
        var models = await client.GetFromJsonAsync<JsonElement>("/api/models");
        var cancelAgain = await client.PostAsync($"/api/training/runs/{runId}/cancel", null);

        Assert.Multiple(() =>
        {
            Assert.That(cancel.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
            Assert.That(run.GetProperty("status").GetString(), Is.EqualTo("cancelled"));
            Assert.That(run.GetProperty("progressPercent").GetDouble(), Is.LessThan(5), "it stopped early, not at the end");
            Assert.That(scorer.ActiveVersion, Is.EqualTo(servingBefore));
            Assert.That(models.GetProperty("models").EnumerateArray().Any(m =>
                m.TryGetProperty("trainingRunId", out var id) && id.ValueKind == JsonValueKind.Number && id.GetInt64() == runId), Is.False);
            Assert.That(cancelAgain.StatusCode, Is.EqualTo(HttpStatusCode.Conflict));
        });
    }

    [Test]
    public async Task RunAsync_WhenRetriedRunHasCheckpoint_ResumesAfterItsLastEpoch()
    {
        using var client = TestHost.Client(ApiRole.Scientist);
        await WaitUntilIdleAsync(client);
        await using var scope = TestHost.Factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<DiscountsDbContext>();
        var models = scope.ServiceProvider.GetRequiredService<ScorerModels>();
        var hp = new FineTuneHyperparameters { Epochs = 2, MaxExamplesPerEpoch = 64, BatchSize = 16, LogEverySteps = 1, MaxValidationUsers = 5 };
        // A run whose process stopped after epoch 1: still marked running, with the epoch-1 checkpoint on disk.
        var run = new Discounts.Core.Domain.TrainingRun
        {
            Status = Discounts.Core.Domain.TrainingRunStatus.Running, CreatedAt = DateTime.UtcNow,
            HyperparametersJson = JsonSerializer.Serialize(hp, FineTuneRunner.Json),
        };
        db.TrainingRuns.Add(run);
        await db.SaveChangesAsync();
        var (scorer, _) = models.CreateBase(dropout: 0);
        var weights = Path.Combine(models.CheckpointFolder, $"run-{run.Id}-epoch1.safetensors");
        string sha;
        using (scorer) sha = ScorerModels.SaveAtomically(scorer.Model, weights);
        var pointer = Path.Combine(models.CheckpointFolder, $"run-{run.Id}.json");
        await File.WriteAllTextAsync(pointer, JsonSerializer.Serialize(new RunCheckpoint(1, 4, weights, sha), FineTuneRunner.Json));

        await scope.ServiceProvider.GetRequiredService<FineTuneRunner>().RunAsync(run.Id, null, CancellationToken.None);
        var finished = await WaitForEndAsync(client, run.Id);
        var loss = (await client.GetFromJsonAsync<JsonElement>($"/api/training/runs/{run.Id}/loss")).GetProperty("points").EnumerateArray().ToList();

        Assert.Multiple(() =>
        {
            Assert.That(finished.GetProperty("status").GetString(), Is.EqualTo("succeeded"), finished.ToString());
            Assert.That(loss.Select(p => p.GetProperty("epoch").GetInt32()).Distinct(), Is.EqualTo(new[] { 2 }), "epoch 1 is not trained again");
            Assert.That(loss.Min(p => p.GetProperty("step").GetInt32()), Is.EqualTo(5), "steps continue from the checkpoint");
            Assert.That(File.Exists(pointer) || File.Exists(weights), Is.False, "a finished run removes its checkpoints");
        });
    }

    [Test]
    public async Task RunAsync_WhenActiveVersionFileHasGone_TrainsAndKeepsTheNewVersionACandidate()
    {
        using var client = TestHost.Client(ApiRole.Scientist);
        await WaitUntilIdleAsync(client);
        await WaitForScorerAsync(TestHost.Factory.Services.GetRequiredService<IScorer>());
        await using var scope = TestHost.Factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<DiscountsDbContext>();
        var models = scope.ServiceProvider.GetRequiredService<ScorerModels>();
        async Task<Discounts.Core.Domain.ModelVersion> ActivateCopyOfBaseAsync(string name)
        {
            var (copy, _) = models.CreateBase(dropout: 0);
            var path = Path.Combine(models.ScorerFolder, $"{name}-{Guid.NewGuid():N}.safetensors");
            string sha;
            using (copy) sha = ScorerModels.SaveAtomically(copy.Model, path);
            var version = new Discounts.Core.Domain.ModelVersion { Name = $"{name}-{Guid.NewGuid():N}", WeightsPath = path, Sha256 = sha, CreatedAt = DateTime.UtcNow };
            db.ModelVersions.Add(version);
            await db.SaveChangesAsync();
            (await client.PostAsync($"/api/models/{version.Id}/activate", null)).EnsureSuccessStatusCode();
            return version;
        }

        var vanished = await ActivateCopyOfBaseAsync("vanished");
        File.Delete(vanished.WeightsPath);
        try
        {
            var hp = new FineTuneHyperparameters { Epochs = 1, MaxExamplesPerEpoch = 32, BatchSize = 16, LogEverySteps = 1, MaxValidationUsers = 5 };
            var run = new Discounts.Core.Domain.TrainingRun
            {
                Status = Discounts.Core.Domain.TrainingRunStatus.Queued, CreatedAt = DateTime.UtcNow,
                HyperparametersJson = JsonSerializer.Serialize(hp, FineTuneRunner.Json),
            };
            db.TrainingRuns.Add(run);
            await db.SaveChangesAsync();

            await scope.ServiceProvider.GetRequiredService<FineTuneRunner>().RunAsync(run.Id, null, CancellationToken.None);
            var finished = await WaitForEndAsync(client, run.Id);
            var metrics = finished.GetProperty("metrics");

            Assert.Multiple(() =>
            {
                Assert.That(finished.GetProperty("status").GetString(), Is.EqualTo("succeeded"), finished.ToString());
                Assert.That(metrics.GetProperty("activeUnreadable").GetString(), Does.Contain($"active version {vanished.Id}"));
                Assert.That(metrics.GetProperty("promoted").GetBoolean(), Is.False);
                Assert.That(TestHost.Factory.Services.GetRequiredService<IScorer>().ActiveVersion?.ModelVersionId, Is.EqualTo(vanished.Id));
            });
        }
        finally
        {
            // Later tests compare their runs with the active version: leave one that can be read.
            await ActivateCopyOfBaseAsync("restored");
        }
    }

    [Test]
    public async Task ActivateModel_WhenCandidateThenCorruptVersion_SwapsTheFirstAndRefusesTheSecond()
    {
        using var client = TestHost.Client(ApiRole.Scientist);
        var scorer = TestHost.Factory.Services.GetRequiredService<IScorer>();
        await WaitForScorerAsync(scorer);
        await using var scope = TestHost.Factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<DiscountsDbContext>();
        var models = scope.ServiceProvider.GetRequiredService<ScorerModels>();
        var (tiny, _) = models.CreateBase(dropout: 0);
        var path = Path.Combine(models.ScorerFolder, $"manual-{Guid.NewGuid():N}.safetensors");
        string sha;
        using (tiny) sha = ScorerModels.SaveAtomically(tiny.Model, path);
        var good = new Discounts.Core.Domain.ModelVersion { Name = $"manual-good-{Guid.NewGuid():N}", WeightsPath = path, Sha256 = sha, CreatedAt = DateTime.UtcNow };
        var corrupt = new Discounts.Core.Domain.ModelVersion { Name = $"manual-bad-{Guid.NewGuid():N}", WeightsPath = path, Sha256 = new string('a', 64), CreatedAt = DateTime.UtcNow };
        db.ModelVersions.AddRange(good, corrupt);
        await db.SaveChangesAsync();

        var activated = await client.PostAsync($"/api/models/{good.Id}/activate", null);
        var servingAfterGood = scorer.ActiveVersion;
        var refused = await client.PostAsync($"/api/models/{corrupt.Id}/activate", null);
        var listed = (await client.GetFromJsonAsync<JsonElement>("/api/models")).GetProperty("models").EnumerateArray().ToList();

        Assert.Multiple(() =>
        {
            Assert.That(activated.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(servingAfterGood?.ModelVersionId, Is.EqualTo(good.Id));
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.Conflict));
            Assert.That(scorer.ActiveVersion, Is.EqualTo(servingAfterGood), "the refused file left the old version serving");
            Assert.That(listed.Count(m => m.GetProperty("status").GetString() == "active"), Is.EqualTo(1));
            Assert.That(listed.Single(m => m.GetProperty("id").GetInt64() == corrupt.Id).GetProperty("status").GetString(), Is.EqualTo("candidate"));
        });
    }

    [Test]
    public async Task GetTrainingRun_WhenUnknown_Returns404()
    {
        using var client = TestHost.Client(ApiRole.Analyst);
        var response = await client.GetAsync("/api/training/runs/999999");
        await response.AssertProblemAsync(HttpStatusCode.NotFound);
    }

    private static async Task<JsonElement> WaitForEndAsync(HttpClient client, long runId)
    {
        var deadline = DateTime.UtcNow + RunTimeout;
        while (true)
        {
            var run = await client.GetFromJsonAsync<JsonElement>($"/api/training/runs/{runId}");
            if (run.GetProperty("status").GetString() is "succeeded" or "failed" or "cancelled") return run;
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), $"run {runId} did not finish: {run}");
            await Task.Delay(200);
        }
    }

    private static async Task WaitUntilIdleAsync(HttpClient client)
    {
        var runs = (await client.GetFromJsonAsync<JsonElement>("/api/training/runs")).GetProperty("runs").EnumerateArray()
            .Where(r => r.GetProperty("status").GetString() is "queued" or "running").Select(r => r.GetProperty("id").GetInt64()).ToList();
        foreach (var id in runs) await WaitForEndAsync(client, id);
    }

    private static async Task WaitForScorerAsync(IScorer scorer)
    {
        var deadline = DateTime.UtcNow + RunTimeout;
        while (scorer.ActiveVersion is null)
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "the scorer never loaded");
            await Task.Delay(100);
        }
    }
}
