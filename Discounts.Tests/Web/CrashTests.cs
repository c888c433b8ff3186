using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace Discounts.Tests.Web;

/// <summary>
/// The real host killed with SIGKILL in the middle of work, then started again on the same files: acknowledged data
/// is all there, unacknowledged batches are all or nothing, an interrupted fine-tune resumes or fails, and the
/// serving model is never a half-written file.
/// </summary>
[Category("Slow")]
[NonParallelizable]
public sealed class CrashTests
{
    private const int EventsPerBatch = 200;

    private string dataDirectory = "";

    [SetUp]
    public void CreateDataDirectory() => dataDirectory = Directory.CreateTempSubdirectory("discounts-crash-").FullName;

    [TearDown]
    public void RemoveDataDirectory() => ChildHost.RemoveDataDirectory(dataDirectory);

    [Test]
    public async Task Ingestion_WhenHostIsKilledMidBatch_EveryAcknowledgedBatchIsFullyPresentAfterRestart()
    {
        var acknowledged = new ConcurrentDictionary<int, bool>();
        var sent = new ConcurrentDictionary<int, bool>();
        using (var host = await ChildHost.StartAsync(dataDirectory))
        {
            await SeedCatalogueAsync(host.Client);
            var next = -1;
            using var stop = new CancellationTokenSource();
            var workers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    var batch = Interlocked.Increment(ref next);
                    sent[batch] = true;
                    try
                    {
                        using var response = await host.Client.PostAsJsonAsync("/api/events/batch", new { events = Events(batch) });
                        if (response.IsSuccessStatusCode) acknowledged[batch] = true;
                    }
                    catch (HttpRequestException)
                    {
                        return;
                    }
                    catch (TaskCanceledException)
                    {
                        return;
                    }
                }
            })).ToList();

            // Kill while four batches are in flight, once a fair number have been acknowledged.
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while (acknowledged.Count < 25 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }

            host.Kill();
            await stop.CancelAsync();
            await Task.WhenAll(workers);
        }

        using (var restarted = await ChildHost.StartAsync(dataDirectory))
        {
            var counts = await CountByBatchAsync();
            var integrity = await ScalarAsync("PRAGMA integrity_check");
            var partial = sent.Keys.Where(b => counts.GetValueOrDefault(b) is not (0 or EventsPerBatch)).ToList();
            var lost = acknowledged.Keys.Where(b => counts.GetValueOrDefault(b) != EventsPerBatch).ToList();
            var items = await restarted.Client.GetFromJsonAsync<JsonElement>("/api/items?limit=5");
            TestContext.Out.WriteLine($"{sent.Count} batches sent, {acknowledged.Count} acknowledged, {counts.Count} present after the restart");
            Assert.Multiple(() =>
            {
                Assert.That(acknowledged, Has.Count.GreaterThanOrEqualTo(25));
                Assert.That(lost, Is.Empty, "acknowledged batches missing or incomplete after the restart");
                Assert.That(partial, Is.Empty, "a batch is all or nothing, even when the host dies inside it");
                Assert.That(integrity, Is.EqualTo("ok"));
                Assert.That(items.GetProperty("items").GetArrayLength(), Is.EqualTo(5), "the restarted host serves");
            });
        }
    }

    [Test]
    public async Task FineTune_WhenHostIsKilledMidRun_RunResumesOrFailsAndAGoodModelKeepsServing()
    {
        long firstVersion;
        long runId;
        using (var host = await ChildHost.StartAsync(dataDirectory))
        {
            await SeedCatalogueAsync(host.Client);
            await SeedHistoryAsync(host.Client);

            // A first, quick run gives the registry an active version to keep serving.
            var first = await StartRunAsync(host.Client, new { epochs = 1, maxExamplesPerEpoch = 64, batchSize = 8, maxValidationUsers = 20, forcePromote = true });
            Assert.That(await WaitForRunAsync(host.Client, first, r => r.GetProperty("status").GetString() is "succeeded" or "failed", TimeSpan.FromMinutes(4)),
                Is.EqualTo("succeeded"));
            var models = await host.Client.GetFromJsonAsync<JsonElement>("/api/models");
            firstVersion = models.GetProperty("servingModelVersionId").GetInt64();

            // A longer run, killed once it has written at least one epoch checkpoint and is training the next.
            runId = await StartRunAsync(host.Client, new { epochs = 6, maxExamplesPerEpoch = 400, batchSize = 8, maxValidationUsers = 20, logEverySteps = 5 });
            var state = await WaitForRunAsync(host.Client, runId, r => r.GetProperty("progressPercent").GetDouble() >= 25 || r.GetProperty("status").GetString() is not ("queued" or "running"),
                TimeSpan.FromMinutes(4));
            Assert.That(state, Is.EqualTo("running"), "the run was still training when the host was killed");
            host.Kill();
        }

        using (var restarted = await ChildHost.StartAsync(dataDirectory))
        {
            var serving = await WaitForServingAsync(restarted.Client, TimeSpan.FromMinutes(2));
            var final = await WaitForRunAsync(restarted.Client, runId, r => r.GetProperty("status").GetString() is not ("queued" or "running"), TimeSpan.FromMinutes(5));
            var run = await restarted.Client.GetFromJsonAsync<JsonElement>($"/api/training/runs/{runId}");
            var models = await restarted.Client.GetFromJsonAsync<JsonElement>("/api/models");
            // Every registered version, active or not, is a whole file: a kill during a save never reaches the registry.
            var badFiles = models.GetProperty("models").EnumerateArray()
                .Select(m => m.GetProperty("id").GetInt64())
                .Where(id => !WeightsMatchRegistry(id))
                .ToList();
            TestContext.Out.WriteLine($"after the restart: serving {serving}, run {runId} {final}: {run.GetProperty("error")}");
            Assert.Multiple(() =>
            {
                Assert.That(serving, Is.EqualTo(firstVersion), "the active version served again after the restart");
                Assert.That(final, Is.EqualTo("succeeded").Or.EqualTo("failed"));
                Assert.That(restarted.Output, Has.Some.Contains($"Training run {runId} was interrupted"));
                Assert.That(final != "succeeded" || restarted.Output.Any(l => l.Contains($"Fine-tune run {runId} resumed after epoch", StringComparison.Ordinal)), Is.True,
                    "a succeeded run resumed from its checkpoint rather than starting over");
                Assert.That(badFiles, Is.Empty, "every registered version's file matches its sha256");
            });
        }
    }

    [Test]
    public async Task Quotes_WhenHostIsKilledRightAfterABurst_EveryAnsweredOfferIsRedeemableAfterRestart()
    {
        var answered = new ConcurrentBag<(string Offer, string User)>();
        var unanswered = new ConcurrentBag<string>();
        // The demo shop: quotes need randomised offers to learn from, and its campaign funds real discounts.
        var demo = new Dictionary<string, string> { ["Demo__Seed"] = "true" };
        using (var host = await ChildHost.StartAsync(dataDirectory, demo))
        {
            using var stop = new CancellationTokenSource();
            var workers = Enumerable.Range(0, 8).Select(worker => Task.Run(async () =>
            {
                for (var request = 0; !stop.IsCancellationRequested; request++)
                {
                    var user = $"user-{1 + (((worker * 131) + request) % 1000):D5}";
                    var items = Enumerable.Range(0, 3).Select(k => $"sku-{1 + (((worker * 7) + (request * 3) + k) % 2000):D6}").ToArray();
                    try
                    {
                        using var response = await host.Client.PostAsJsonAsync("/api/discounts/quotes", new { userId = user, itemIds = items });
                        if (!response.IsSuccessStatusCode)
                        {
                            unanswered.Add($"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                            continue;
                        }

                        var quote = await response.Content.ReadFromJsonAsync<JsonElement>();
                        foreach (var q in quote.GetProperty("quotes").EnumerateArray()) answered.Add((q.GetProperty("offerId").GetString()!, user));
                    }
                    catch (Exception error) when (error is HttpRequestException or TaskCanceledException or JsonException or IOException)
                    {
                        return;
                    }
                }
            })).ToList();

            // Killed mid-burst: eight quotes are in flight, some of them answered a moment ago.
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while (answered.Count < 300 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(5);
            }

            host.Kill();
            await stop.CancelAsync();
            await Task.WhenAll(workers);
        }

        using (var restarted = await ChildHost.StartAsync(dataDirectory, demo))
        {
            var missing = new List<string>();
            var refused = new List<string>();
            foreach (var (offer, user) in answered)
            {
                using var response = await restarted.Client.PostAsJsonAsync($"/api/discounts/offers/{offer}/redeem", new { userId = user });
                if (response.StatusCode == HttpStatusCode.NotFound) missing.Add(offer);
                // A refusal by the daily cap or the budget still found the offer.
                else if (!response.IsSuccessStatusCode && response.StatusCode != HttpStatusCode.Conflict) refused.Add($"{offer}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }

            TestContext.Out.WriteLine($"{answered.Count} offers answered before the kill");
            Assert.Multiple(() =>
            {
                Assert.That(answered, Has.Count.GreaterThanOrEqualTo(300), () => string.Join('\n', unanswered.Take(3)));
                Assert.That(missing, Is.Empty, "answered offers the restarted host does not know");
                Assert.That(refused, Is.Empty, "every answered offer redeems, or is refused by the daily cap or the budget");
            });
        }
    }

    private static object[] Events(int batch) => Enumerable.Range(0, EventsPerBatch).Select(j => (object)new
    {
        eventId = $"b{batch}-e{j}",
        userId = $"u-{(batch * 7 + j) % 300}",
        itemId = $"sku-{j % 50}",
        kind = j % 10 == 0 ? "purchase" : "view",
        priceCents = 1_000 + j,
        discountPercent = 0,
        occurredAt = DateTime.UtcNow.AddDays(-(j % 60)).AddMinutes(-batch),
    }).ToArray();

    private static async Task SeedCatalogueAsync(HttpClient client)
    {
        var items = Enumerable.Range(0, 50).Select(i => new
        {
            id = $"sku-{i}", title = $"{(i % 2 == 0 ? "Running shoe" : "Paperback novel")} {i}", category = i % 2 == 0 ? "Shoes" : "Books",
            priceCents = 1_000 + (i * 100), costCents = 500 + (i * 40),
        });
        (await client.PostAsJsonAsync("/api/items/batch", new { items })).EnsureSuccessStatusCode();
    }

    /// <summary>Eighty users over sixty days, each buying mostly from one category, so a run has positives on both sides of its cut-off.</summary>
    private static async Task SeedHistoryAsync(HttpClient client)
    {
        var random = new Random(5);
        var events = Enumerable.Range(0, 80).SelectMany(u => Enumerable.Range(0, 12).Select(k =>
        {
            var item = (random.Next(25) * 2) + (u % 2 == 0 || random.Next(5) == 0 ? 0 : 1);
            return new
            {
                eventId = $"h-{u}-{k}", userId = $"shopper-{u}", itemId = $"sku-{item}", kind = k % 3 == 0 ? "purchase" : "view",
                priceCents = 1_000 + (item * 100), discountPercent = 0, occurredAt = DateTime.UtcNow.AddDays(-60 + (k * 5)).AddHours(-u),
            };
        })).ToList();
        (await client.PostAsJsonAsync("/api/events/batch", new { events })).EnsureSuccessStatusCode();
    }

    private static async Task<long> StartRunAsync(HttpClient client, object request)
    {
        var response = await client.PostAsJsonAsync("/api/training/runs", request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), body);
        return JsonDocument.Parse(body).RootElement.GetProperty("id").GetInt64();
    }

    private static async Task<string> WaitForRunAsync(HttpClient client, long runId, Func<JsonElement, bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        JsonElement run;
        do
        {
            run = await client.GetFromJsonAsync<JsonElement>($"/api/training/runs/{runId}");
            if (done(run)) break;
            await Task.Delay(100);
        }
        while (DateTime.UtcNow < deadline);

        return run.GetProperty("status").GetString()!;
    }

    private static async Task<long?> WaitForServingAsync(HttpClient client, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var models = await client.GetFromJsonAsync<JsonElement>("/api/models");
            if (models.GetProperty("servingName").ValueKind == JsonValueKind.String)
            {
                return models.GetProperty("servingModelVersionId").ValueKind == JsonValueKind.Number ? models.GetProperty("servingModelVersionId").GetInt64() : null;
            }

            await Task.Delay(200);
        }

        return null;
    }

    private bool WeightsMatchRegistry(long modelVersionId)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT WeightsPath, Sha256 FROM ModelVersions WHERE Id = $id";
        command.Parameters.AddWithValue("$id", modelVersionId);
        using var reader = command.ExecuteReader();
        if (!reader.Read()) return false;
        // The registry stores paths relative to the artifact store (<data>/models by default); older rows are absolute.
        var path = Path.Combine(dataDirectory, "models", reader.GetString(0));
        if (!File.Exists(path)) return false;
        using var stream = File.OpenRead(path);
        return string.Equals(Convert.ToHexStringLower(SHA256.HashData(stream)), reader.GetString(1), StringComparison.OrdinalIgnoreCase);
    }

    private async Task<Dictionary<int, int>> CountByBatchAsync()
    {
        await using var connection = Open();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT IdempotencyKey FROM Events";
        var counts = new Dictionary<int, int>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var key = reader.GetString(0);
            var batch = int.Parse(key.AsSpan(1, key.IndexOf('-', StringComparison.Ordinal) - 1), System.Globalization.CultureInfo.InvariantCulture);
            counts[batch] = counts.GetValueOrDefault(batch) + 1;
        }

        return counts;
    }

    private async Task<string> ScalarAsync(string sql)
    {
        await using var connection = Open();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (string)(await command.ExecuteScalarAsync())!;
    }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection($"Data Source={Path.Combine(dataDirectory, "discounts.db")};Mode=ReadOnly;Pooling=False");
        connection.Open();
        return connection;
    }
}
