using System.Net.Http.Json;
using System.Text.Json;

namespace Discounts.Tests.Web;

/// <summary>
/// A new shop on the default settings: the demo shop is seeded and one fine-tune is queued at once, so the first visitor
/// sees a loss curve and a fine-tuned model within minutes, and a restart does not queue another.
/// </summary>
[Category("Slow")]
[NonParallelizable]
public sealed class FirstRunTests
{
    private string dataDirectory = "";

    [SetUp]
    public void CreateDataDirectory() => dataDirectory = Directory.CreateTempSubdirectory("discounts-first-run-").FullName;

    [TearDown]
    public void RemoveDataDirectory() => ChildHost.RemoveDataDirectory(dataDirectory);

    [Test]
    public async Task Startup_WhenDemoShopIsSeeded_QueuesOneFineTuneThatRegistersAVersionAndOnlyOnce()
    {
        var settings = new Dictionary<string, string>
        {
            ["Demo__Seed"] = "true",
            ["Training__FirstRunOnSeed"] = "true",
            // Small enough for CI: the tiny scorer (ChildHost's default) over a few steps.
            ["Training__Hyperparameters__MaxExamplesPerEpoch"] = "64",
            ["Training__Hyperparameters__MaxValidationUsers"] = "20",
            ["Training__Hyperparameters__LogEverySteps"] = "1",
        };
        JsonElement finished;
        using (var host = await ChildHost.StartAsync(dataDirectory, settings))
        {
            finished = await WaitForFinishedRunAsync(host.Client, TimeSpan.FromMinutes(5));
            var runId = finished.GetProperty("id").GetInt64();
            var loss = await host.Client.GetFromJsonAsync<JsonElement>($"/api/training/runs/{runId}/loss");
            var models = await host.Client.GetFromJsonAsync<JsonElement>("/api/models");
            Assert.Multiple(() =>
            {
                Assert.That(finished.GetProperty("status").GetString(), Is.EqualTo("succeeded"), finished.ToString());
                Assert.That(loss.GetProperty("points").GetArrayLength(), Is.GreaterThan(1), "a loss curve to look at");
                Assert.That(models.GetProperty("models").EnumerateArray().Count(m =>
                    m.TryGetProperty("trainingRunId", out var run) && run.ValueKind == JsonValueKind.Number && run.GetInt64() == runId), Is.EqualTo(1),
                    "the run registered a version");
            });
        }

        using var restarted = await ChildHost.StartAsync(dataDirectory, settings);
        await Task.Delay(TimeSpan.FromSeconds(3));
        var runs = (await restarted.Client.GetFromJsonAsync<JsonElement>("/api/training/runs")).GetProperty("runs");
        Assert.That(runs.GetArrayLength(), Is.EqualTo(1), "a restart on a shop that was fine-tuned queues nothing");
    }

    private static async Task<JsonElement> WaitForFinishedRunAsync(HttpClient client, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var runs = (await client.GetFromJsonAsync<JsonElement>("/api/training/runs")).GetProperty("runs").EnumerateArray().ToList();
            if (runs.Count > 0 && runs[0].GetProperty("status").GetString() is "succeeded" or "failed" or "cancelled")
            {
                return runs[0];
            }

            await Task.Delay(1_000);
        }

        throw new TimeoutException("No first fine-tune finished in time.");
    }
}
