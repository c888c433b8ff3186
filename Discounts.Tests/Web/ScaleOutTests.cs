using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Discounts.Core.Data;
using Discounts.Core.Recommending;
using Npgsql;

namespace Discounts.Tests.Web;

/// <summary>
/// Two real host processes over one PostgreSQL: node A has only the web role, node B has web and training. A run
/// started through A is trained by B (the only server on the training queue), and both nodes serve its model soon after.
/// </summary>
[TestFixture]
[Category("Postgres")]
[NonParallelizable]
public sealed class ScaleOutTests
{
    private const string AdminKey = "scale-out-admin-key-0123456789";
    private static readonly TimeSpan StartupTimeout = TimeSpan.FromMinutes(4);

    private readonly List<Node> nodes = [];
    private string? connectionString;
    private string? root;

    [OneTimeSetUp]
    public async Task StartNodes()
    {
        PostgresTestDatabase.RequireServer();
        connectionString = PostgresTestDatabase.Create("discounts_scaleout");
        root = Directory.CreateTempSubdirectory("discounts-scaleout-").FullName;
        var artifacts = Path.Combine(root, "artifacts");
        // Started together on an empty database: one migrates and seeds under the advisory lock, the other waits.
        nodes.Add(Node.Start("node-a", "web", connectionString, root, artifacts));
        nodes.Add(Node.Start("node-b", "web,training", connectionString, root, artifacts));
        await Task.WhenAll(nodes.Select(n => n.WaitUntilReadyAsync(StartupTimeout)));
    }

    [OneTimeTearDown]
    public void StopNodes()
    {
        foreach (var node in nodes) node.Dispose();
        if (connectionString is not null) PostgresTestDatabase.Drop(connectionString);
        if (root is not null)
        {
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
                // Left to the OS's temp cleaning.
            }
        }
    }

    [Test]
    public async Task FineTune_WhenStartedThroughWebOnlyNode_RunsOnceOnTrainingNodeAndBothNodesServeItWithin10s()
    {
        var (a, b) = (nodes[0], nodes[1]);
        var start = await a.Client.PostAsJsonAsync("/api/training/runs", new
        {
            epochs = 1, batchSize = 16, learningRate = 0.003, maxExamplesPerEpoch = 64, logEverySteps = 2,
            maxValidationUsers = 20, freezeEmbeddings = true, forcePromote = true,
        });
        Assert.That(start.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await start.Content.ReadAsStringAsync());
        var started = await start.Content.ReadFromJsonAsync<JsonElement>();
        var runId = started.GetProperty("id").GetInt64();
        var jobId = started.GetProperty("jobId").GetString()!;

        var run = await WaitForAsync(TimeSpan.FromMinutes(3), async () =>
        {
            var current = await a.Client.GetFromJsonAsync<JsonElement>($"/api/training/runs/{runId}");
            return current.GetProperty("status").GetString() is "succeeded" or "failed" or "cancelled" ? current : (JsonElement?)null;
        });
        Assert.That(run.GetProperty("status").GetString(), Is.EqualTo("succeeded"), $"{run}\n{a.LogTail()}\n{b.LogTail()}");
        var finishedAt = Stopwatch.StartNew();
        var models = await a.Client.GetFromJsonAsync<JsonElement>("/api/models");
        var versions = models.GetProperty("models").EnumerateArray()
            .Where(m => m.TryGetProperty("trainingRunId", out var id) && id.ValueKind == JsonValueKind.Number && id.GetInt64() == runId).ToList();
        Assert.That(versions, Has.Count.EqualTo(1), "one registered version per run");
        var versionId = versions[0].GetProperty("id").GetInt64();

        // Both nodes serve it within 10 s of the run's end, each by its own account and by the heartbeat table.
        var converged = await WaitForAsync(TimeSpan.FromSeconds(10), async () =>
        {
            var report = await a.Client.GetFromJsonAsync<JsonElement>("/api/models/nodes");
            var servingA = await ServingAsync(a);
            var servingB = await ServingAsync(b);
            var reported = report.GetProperty("nodes").EnumerateArray()
                .Where(n => n.GetProperty("loadedModelVersionId").ValueKind == JsonValueKind.Number && n.GetProperty("loadedModelVersionId").GetInt64() == versionId)
                .Select(n => n.GetProperty("nodeId").GetString()).ToList();
            return servingA == versionId && servingB == versionId && reported.Contains("node-a") && reported.Contains("node-b") ? report : (JsonElement?)null;
        }, throwOnTimeout: false);
        var elapsed = finishedAt.Elapsed;
        TestContext.Out.WriteLine($"Both nodes serve model version {versionId} {elapsed.TotalSeconds:F1} s after the run was seen finished.");

        var (processing, succeeded, servers) = await JobHistoryAsync(jobId);
        var report = await b.Client.GetFromJsonAsync<JsonElement>("/api/models/nodes");
        Assert.Multiple(() =>
        {
            Assert.That(converged.ValueKind, Is.Not.EqualTo(JsonValueKind.Undefined), $"both nodes serve version {versionId} within 10 s; last report {report}\n{a.LogTail()}\n{b.LogTail()}");
            Assert.That(report.GetProperty("activeModelVersionId").GetInt64(), Is.EqualTo(versionId));
            Assert.That(processing, Is.EqualTo(1), "the job was taken by exactly one worker, once");
            Assert.That(succeeded, Is.EqualTo(1), "and it succeeded once");
            Assert.That(servers, Is.All.StartsWith("node-b:training"), "only the training node runs the training queue");
        });
    }

    [Test]
    public async Task Nodes_WhenHeartbeating_ReportRolesAndWebOnlyNodeHasNoTrainingServer()
    {
        var report = await WaitForAsync(TimeSpan.FromSeconds(20), async () =>
        {
            var current = await nodes[1].Client.GetFromJsonAsync<JsonElement>("/api/models/nodes");
            return current.GetProperty("nodes").GetArrayLength() >= 2 ? current : (JsonElement?)null;
        });
        var roles = report.GetProperty("nodes").EnumerateArray().ToDictionary(
            n => n.GetProperty("nodeId").GetString()!, n => string.Join(',', n.GetProperty("roles").EnumerateArray().Select(r => r.GetString())));
        var hangfireServers = await HangfireServersAsync();

        Assert.Multiple(() =>
        {
            Assert.That(roles["node-a"], Is.EqualTo("web"));
            Assert.That(roles["node-b"], Is.EqualTo("web,training"));
            Assert.That(report.GetProperty("nodes").EnumerateArray().All(n => n.GetProperty("alive").GetBoolean()), Is.True);
            Assert.That(hangfireServers.Any(s => s.StartsWith("node-a", StringComparison.Ordinal)), Is.False, string.Join(", ", hangfireServers));
            Assert.That(hangfireServers.Count(s => s.StartsWith("node-b:training", StringComparison.Ordinal)), Is.EqualTo(1), string.Join(", ", hangfireServers));
        });
    }

    [Test]
    public async Task Recommendations_WhenAPurchaseIsWrittenThroughTheOtherNode_DropTheItemOnTheNextRequest()
    {
        // Node B caches the user's ranked list; the purchase goes through node A, so no in-process hook on B sees it.
        var (a, b) = (nodes[0], nodes[1]);
        async Task<List<(string Id, string Category)>> ListAsync(Node node)
        {
            var result = await node.Client.GetFromJsonAsync<JsonElement>("/api/users/user-00051/recommendations?count=25");
            return result.GetProperty("items").EnumerateArray().Select(i => (i.GetProperty("itemId").GetString()!, i.GetProperty("category").GetString()!)).ToList();
        }

        await ListAsync(b);
        var cached = await ListAsync(b);
        var consumable = new RecommendationOptions().ConsumableCategories.ToHashSet();
        var bought = cached.First(i => !consumable.Contains(i.Category)).Id;
        var purchase = IngestionTests.Event($"ev-scaleout-buy-{Guid.NewGuid():N}", "user-00051", bought, "purchase", 1_500);

        (await a.Client.PostAsJsonAsync("/api/events/batch", new { events = new[] { purchase } })).EnsureSuccessStatusCode();
        var after = await ListAsync(b);

        Assert.Multiple(() =>
        {
            Assert.That(cached.Select(i => i.Id), Does.Contain(bought));
            Assert.That(after.Select(i => i.Id), Does.Not.Contain(bought), "node B re-ranked after a purchase it never saw in process");
        });
    }

    [Test]
    public async Task StartTrainingRun_WhenBothNodesRaceToStartOne_QueuesExactlyOne()
    {
        // Runs after the fine-tune test (NUnit orders by name), when no run is queued or running.
        await WaitForAsync(TimeSpan.FromMinutes(3), async () =>
        {
            var runs = await nodes[0].Client.GetFromJsonAsync<JsonElement>("/api/training/runs");
            return runs.GetProperty("runs").EnumerateArray().All(r => r.GetProperty("status").GetString() is not ("queued" or "running")) ? runs : (JsonElement?)null;
        });
        var body = new { epochs = 1, batchSize = 16, maxExamplesPerEpoch = 32, maxValidationUsers = 10, freezeEmbeddings = true };
        var responses = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => nodes[i % 2].Client.PostAsJsonAsync("/api/training/runs", body)));
        var statuses = responses.Select(r => r.StatusCode).ToList();

        Assert.Multiple(() =>
        {
            Assert.That(statuses.Count(s => s == HttpStatusCode.Accepted), Is.EqualTo(1), string.Join(", ", statuses));
            Assert.That(statuses.Count(s => s == HttpStatusCode.Conflict), Is.EqualTo(5), string.Join(", ", statuses));
        });
    }

    private static async Task<long?> ServingAsync(Node node)
    {
        var models = await node.Client.GetFromJsonAsync<JsonElement>("/api/models");
        return models.GetProperty("servingModelVersionId").ValueKind == JsonValueKind.Number ? models.GetProperty("servingModelVersionId").GetInt64() : null;
    }

    /// <summary>Hangfire's own record of the job, read from its schema: how often it entered each state, and on which servers.</summary>
    private async Task<(long Processing, long Succeeded, List<string> Servers)> JobHistoryAsync(string jobId)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT name, data FROM hangfire.state WHERE jobid = @job", connection);
        command.Parameters.AddWithValue("job", long.Parse(jobId, System.Globalization.CultureInfo.InvariantCulture));
        var states = new List<(string Name, string Data)>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync()) states.Add((reader.GetString(0), reader.IsDBNull(1) ? "{}" : reader.GetString(1)));
        }

        var servers = states.Where(s => s.Name == "Processing")
            .Select(s => JsonDocument.Parse(s.Data).RootElement.TryGetProperty("ServerId", out var id) ? id.GetString() ?? "" : "").ToList();
        return (states.Count(s => s.Name == "Processing"), states.Count(s => s.Name == "Succeeded"), servers);
    }

    private async Task<List<string>> HangfireServersAsync()
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT id FROM hangfire.server", connection);
        var servers = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) servers.Add(reader.GetString(0));
        return servers;
    }

    private static async Task<JsonElement> WaitForAsync(TimeSpan timeout, Func<Task<JsonElement?>> probe, bool throwOnTimeout = true)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (await probe() is { } found) return found;
            if (clock.Elapsed > timeout)
            {
                if (throwOnTimeout) Assert.Fail($"Nothing came within {timeout.TotalSeconds:F0} s.");
                return default;
            }

            await Task.Delay(250);
        }
    }

    /// <summary>One `dotnet Discounts.Web.dll` child process with its own port and data directory.</summary>
    private sealed class Node : IDisposable
    {
        private readonly Process process;
        private readonly Queue<string> log = new();

        private Node(string id, Process process, int port)
        {
            Id = id;
            this.process = process;
            Client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
            Client.DefaultRequestHeaders.Add("X-Api-Key", AdminKey);
        }

        public string Id { get; }

        public HttpClient Client { get; }

        public static Node Start(string id, string roles, string connectionString, string root, string artifacts)
        {
            var port = FreePort();
            var start = new ProcessStartInfo(DotnetHost(), $"\"{WebAssembly()}\"")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = Path.GetDirectoryName(WebAssembly())!,
            };
            var environment = new Dictionary<string, string>
            {
                ["ASPNETCORE_ENVIRONMENT"] = "Testing",
                ["Urls"] = $"http://127.0.0.1:{port}",
                ["Storage__Provider"] = "Postgres",
                ["ConnectionStrings__Discounts"] = connectionString,
                ["Storage__DataDirectory"] = Path.Combine(root, id),
                ["Storage__ArtifactDirectory"] = artifacts,
                ["Node__Id"] = id,
                ["Node__Roles"] = roles,
                ["Node__PollSeconds"] = "1",
                ["Training__ScorerBase"] = "Tiny",
                ["Training__FirstRunOnSeed"] = "false",
                ["Auth__Keys__0__Key"] = AdminKey,
                ["Auth__Keys__0__Role"] = "Admin",
                ["Auth__Keys__0__PermitsPerSecond"] = "1000",
                ["Logging__LogLevel__Default"] = "Warning",
            };
            foreach (var (key, value) in environment) start.Environment[key] = value;
            var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
            var node = new Node(id, process, port);
            process.OutputDataReceived += (_, e) => node.Remember(e.Data);
            process.ErrorDataReceived += (_, e) => node.Remember(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return node;
        }

        public async Task WaitUntilReadyAsync(TimeSpan timeout)
        {
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < timeout)
            {
                if (process.HasExited) Assert.Fail($"{Id} exited with {process.ExitCode}:\n{LogTail()}");
                try
                {
                    if ((await Client.GetAsync("/health/ready")).IsSuccessStatusCode && (await Client.GetAsync("/api/models")).IsSuccessStatusCode)
                    {
                        var models = await Client.GetFromJsonAsync<JsonElement>("/api/models");
                        // Ready once the startup load has published a scorer.
                        if (models.GetProperty("servingName").ValueKind == JsonValueKind.String) return;
                    }
                }
                catch (HttpRequestException)
                {
                    // Not listening yet.
                }

                await Task.Delay(500);
            }

            Assert.Fail($"{Id} was not ready within {timeout.TotalSeconds:F0} s:\n{LogTail()}");
        }

        public string LogTail()
        {
            lock (log) return $"--- {Id} ---\n{string.Join('\n', log)}";
        }

        public void Dispose()
        {
            Client.Dispose();
            try
            {
                if (!process.HasExited) process.Kill(entireProcessTree: true);
                process.WaitForExit(10_000);
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }

            process.Dispose();
        }

        private void Remember(string? line)
        {
            if (line is null) return;
            lock (log)
            {
                log.Enqueue(line);
                while (log.Count > 60) log.Dequeue();
            }
        }

        private static int FreePort()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        private static string DotnetHost() =>
            Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

        /// <summary>The web project's own build output (same configuration as the tests), else the copy beside the tests.</summary>
        private static string WebAssembly()
        {
            var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent?.Name ?? "Debug";
            var own = Path.Combine(RepositoryRoot.Find(), "Discounts.Web", "bin", configuration, "net10.0", "Discounts.Web.dll");
            return File.Exists(own) ? own : Path.Combine(AppContext.BaseDirectory, "Discounts.Web.dll");
        }
    }
}
