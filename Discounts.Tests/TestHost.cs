using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Discounts.Web.Features.Users;
using Discounts.Web.Infrastructure;
using Hangfire;
using Hangfire.States;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Discounts.Tests;

/// <summary>
/// The one web host of the test run: a real SQLite file in a temp directory, seeded with the demo shop, Hangfire in
/// memory, and one API key per role. Started on first use, so pure unit tests never pay for it.
/// </summary>
public static class TestHost
{
    public static readonly IReadOnlyDictionary<ApiRole, string> Keys = Enum.GetValues<ApiRole>()
        .ToDictionary(role => role, role => $"test-{role.ToString().ToLowerInvariant()}-key-0123456789");

    /// <summary>An Analyst key held to two requests a second, for the rate-limit tests.</summary>
    public const string SlowAnalystKey = "test-slow-analyst-key-0123456789";

    /// <summary>An Admin key without a practical rate limit, so hostile-input tests reach validation.</summary>
    public const string UnlimitedAdminKey = "test-unlimited-admin-key-0123456789";

    private static readonly Lazy<DiscountsFactory> LazyFactory = new(() => new DiscountsFactory());

    public static DiscountsFactory Factory => LazyFactory.Value;

    public static string DataDirectory => Factory.DataDirectory;

    public static HttpClient Client(ApiRole? role)
    {
        var client = Factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        if (role is { } known)
        {
            client.DefaultRequestHeaders.Add(ApiKeyStore.HeaderName, Keys[known]);
        }

        client.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        return client;
    }

    /// <summary>
    /// Waits until the user's stored profile satisfies <paramref name="ready"/> (by default: built at all, version above
    /// 0). To see new data arrive, test for the data itself: a rebuild already under way when it was sent raises the
    /// version without it.
    /// </summary>
    public static async Task<GetUserProfile.Result> WaitForProfileAsync(HttpClient client, string userId, Func<GetUserProfile.Result, bool>? ready = null)
    {
        ready ??= profile => profile.Version > 0;
        var waited = Stopwatch.StartNew();
        GetUserProfile.Result? last = null;
        while (true)
        {
            var response = await client.GetAsync($"/api/users/{userId}/profile");
            if (response.IsSuccessStatusCode)
            {
                last = await response.Content.ReadFromJsonAsync<GetUserProfile.Result>(Web.TestJson.Options);
                if (ready(last!))
                {
                    return last!;
                }
            }

            if (waited.Elapsed > TimeSpan.FromSeconds(180))
            {
                Assert.Fail($"The profile of {userId} was not ready in time (last status {(int)response.StatusCode}); "
                            + $"last seen: version {last?.Version}, keywords {string.Join(", ", last?.Keywords.Select(k => k.Term) ?? [])}.");
            }

            await Task.Delay(250);
        }
    }

    /// <summary>
    /// Waits until the shared host has no Hangfire job enqueued, processing or scheduled (the profile-refresh debounce
    /// is a scheduled job), seen on two checks in a row: a job between being fetched from its queue and marked
    /// processing is briefly in none of them. Gives up quietly after <paramref name="patience"/>; callers compare state
    /// afterwards, which fails on its own if work was still going.
    /// </summary>
    public static async Task WaitForBackgroundJobsAsync(TimeSpan patience)
    {
        var monitoring = Factory.Services.GetRequiredService<JobStorage>().GetMonitoringApi();
        var waited = Stopwatch.StartNew();
        var idleChecks = 0;
        while (waited.Elapsed < patience)
        {
            var idle = monitoring.ProcessingCount() == 0 && monitoring.ScheduledCount() == 0 && monitoring.Queues().All(q => q.Length == 0);
            idleChecks = idle ? idleChecks + 1 : 0;
            if (idleChecks == 2)
            {
                return;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500));
        }

        TestContext.Out.WriteLine($"Background jobs were still pending after {patience.TotalSeconds:F0} s.");
    }

    /// <summary>Waits until the Hangfire job has reached a final state (succeeded, failed or deleted) and returns that state's name.</summary>
    public static async Task<string> WaitForJobAsync(string jobId, TimeSpan patience)
    {
        using var connection = Factory.Services.GetRequiredService<JobStorage>().GetConnection();
        var waited = Stopwatch.StartNew();
        while (true)
        {
            var state = connection.GetStateData(jobId)?.Name;
            if (state == SucceededState.StateName || state == FailedState.StateName || state == DeletedState.StateName)
            {
                return state;
            }

            if (waited.Elapsed > patience)
            {
                Assert.Fail($"Job {jobId} did not finish within {patience.TotalSeconds:F0} s (state {state ?? "unknown"}).");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(250));
        }
    }

    /// <summary>Reads the shared host's database directly, in a scope of its own.</summary>
    public static async Task<T> ReadAsync<T>(Func<Discounts.Core.Data.DiscountsDbContext, Task<T>> read)
    {
        await using var scope = Factory.Services.CreateAsyncScope();
        return await read(scope.ServiceProvider.GetRequiredService<Discounts.Core.Data.DiscountsDbContext>());
    }

    internal static void DisposeIfStarted()
    {
        if (LazyFactory.IsValueCreated)
        {
            LazyFactory.Value.Dispose();
        }
    }
}

/// <summary>Not sealed: the browser tests' host is the same host listening on a real socket.</summary>
public class DiscountsFactory : WebApplicationFactory<Program>
{
    public string DataDirectory { get; } = Directory.CreateTempSubdirectory("discounts-tests-").FullName;

    /// <summary>Set when DISCOUNTS_TEST_PROVIDER=Postgres: the host's own throwaway database.</summary>
    public string? PostgresConnectionString { get; private set; }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        // Every log line of the host, Debug and up (EF Core's chatty Debug aside), for the tests that scan logs for personal data.
        builder.ConfigureLogging(logging => logging.AddProvider(CapturedLogs.Instance)
            .AddFilter<CapturedLogs>(null, LogLevel.Debug)
            .AddFilter<CapturedLogs>("Microsoft.EntityFrameworkCore", LogLevel.Information));
        builder.ConfigureAppConfiguration((_, configuration) =>
        {
            var settings = new Dictionary<string, string?>
            {
                ["Storage:DataDirectory"] = DataDirectory,
                ["Jobs:Storage"] = nameof(JobStorageKind.InMemory),
                // A tiny randomly initialised scorer: loading and fine-tuning it takes seconds, not minutes.
                ["Training:ScorerBase"] = "Tiny",
                // Tests start their own runs; a first run queued at startup would hold the one training worker.
                ["Training:FirstRunOnSeed"] = "false",
                ["Profiles:RefreshDebounceSeconds"] = "1",
                // Due scheduled jobs (that debounced refresh, retries) start within a second, not Hangfire's default 15.
                ["Jobs:SchedulePollingSeconds"] = "1",
                // Recurring jobs at fixed times of day would retrain or rebuild under whichever tests run then.
                ["Profiles:RebuildCron"] = Cron.Never(),
                ["Discounting:UpliftTrainingCron"] = Cron.Never(),
            };
            if (PostgresTestDatabase.TestHostUsesPostgres)
            {
                PostgresConnectionString ??= PostgresTestDatabase.Create("discounts_tests");
                settings["Storage:Provider"] = "Postgres";
                settings["ConnectionStrings:Discounts"] = PostgresConnectionString;
            }

            var index = 0;
            foreach (var (role, key) in TestHost.Keys)
            {
                settings[$"Auth:Keys:{index}:Key"] = key;
                settings[$"Auth:Keys:{index}:Role"] = role.ToString();
                index++;
            }

            settings[$"Auth:Keys:{index}:Key"] = TestHost.SlowAnalystKey;
            settings[$"Auth:Keys:{index}:Role"] = nameof(ApiRole.Analyst);
            settings[$"Auth:Keys:{index}:PermitsPerSecond"] = "2";
            index++;
            settings[$"Auth:Keys:{index}:Key"] = TestHost.UnlimitedAdminKey;
            settings[$"Auth:Keys:{index}:Role"] = nameof(ApiRole.Admin);
            settings[$"Auth:Keys:{index}:PermitsPerSecond"] = "1000000";
            configuration.AddInMemoryCollection(settings);
        });
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            if (PostgresConnectionString is not null)
            {
                PostgresTestDatabase.Drop(PostgresConnectionString);
            }

            try
            {
                Directory.Delete(DataDirectory, recursive: true);
            }
            catch (IOException)
            {
                // A file still held open by a background thread; the temp directory is cleaned by the OS.
            }
        }
    }
}

[SetUpFixture]
public sealed class TestRun
{
    /// <summary>
    /// Both hosts live until the whole run ends: stopping the browser tests' host while the shared one still serves
    /// left the shared host's /metrics without its request metrics.
    /// </summary>
    [OneTimeTearDown]
    public async Task StopHosts()
    {
        await Web.Browser.BrowserHost.StopAsync();
        TestHost.DisposeIfStarted();
    }
}
