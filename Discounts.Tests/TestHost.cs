using System.Net.Http.Headers;
using System.Net.Http.Json;
using Discounts.Web.Infrastructure;
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

    /// <summary>Waits until the debounced refresh has built the user's profile (version above 0).</summary>
    public static async Task WaitForProfileAsync(HttpClient client, string userId)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (waited.Elapsed < TimeSpan.FromSeconds(180))
        {
            var response = await client.GetAsync($"/api/users/{userId}/profile");
            if (response.IsSuccessStatusCode && (await response.Content.ReadFromJsonAsync<Discounts.Web.Features.Users.GetUserProfile.Result>(Discounts.Tests.Web.TestJson.Options))!.Version > 0)
            {
                return;
            }

            await Task.Delay(250);
        }

        Assert.Fail($"The profile of {userId} was not built in time.");
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
