using System.Net;
using System.Text.Json;
using Discounts.Core.Data;
using Discounts.Web.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Discounts.Tests.Web;

public sealed class HostTests
{
    [Test]
    public async Task Startup_WhenDataDirectoryIsEmpty_MigratesIntoItInWalModeAndSeeds()
    {
        if (PostgresTestDatabase.TestHostUsesPostgres)
            Assert.Ignore("This test reads the SQLite file and its journal mode; ScaleOutTests cover startup on PostgreSQL.");
        using var scope = TestHost.Factory.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<DiscountsDbContext>();
        var pending = await db.Database.GetPendingMigrationsAsync();
        var applied = await db.Database.GetAppliedMigrationsAsync();

        await using var connection = new SqliteConnection($"Data Source={Path.Combine(TestHost.DataDirectory, "discounts.db")}");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode;";
        var journalMode = (string?)await command.ExecuteScalarAsync();

        Assert.Multiple(async () =>
        {
            Assert.That(pending, Is.Empty);
            Assert.That(applied, Is.Not.Empty);
            Assert.That(journalMode, Is.EqualTo("wal"));
            Assert.That(await db.Items.CountAsync(), Is.GreaterThanOrEqualTo(2_000));
            // Other tests ingest users too, so the demo's 1 000 are a floor.
            Assert.That(await db.Users.CountAsync(), Is.GreaterThanOrEqualTo(1_000));
            Assert.That(await db.Events.CountAsync(), Is.GreaterThan(20_000));
            Assert.That(File.Exists(Path.Combine(TestHost.DataDirectory, "discounts.db")), Is.True);
        });
    }

    [Test]
    public async Task OpenApi_WhenRead_DescribesSlicesWithUniqueSchemaIdsAndApiKeyScheme()
    {
        using var client = TestHost.Client(ApiRole.Analyst);
        var response = await client.GetAsync("/openapi/v1.json");
        var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        var schemas = json.GetProperty("components").GetProperty("schemas").EnumerateObject().Select(p => p.Name).ToList();

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(json.GetProperty("paths").TryGetProperty("/api/items", out _), Is.True);
            Assert.That(schemas, Does.Contain("ListItemsResult").And.Contain("ListUsersResult"));
            Assert.That(json.GetProperty("components").GetProperty("securitySchemes").TryGetProperty("ApiKey", out _), Is.True);
        });
    }

    [Test]
    public async Task Scalar_WhenAuthenticated_ServesTheReferencePage()
    {
        using var client = TestHost.Client(ApiRole.Analyst);
        var response = await client.GetAsync("/scalar/");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain("Discounts API"));
    }

    [Test]
    public async Task Metrics_WhenAnalyst_ExposesRequestMetrics()
    {
        using var client = TestHost.Client(ApiRole.Analyst);
        await client.GetAsync("/api/items?limit=1");
        // The host records a request's duration after its response has gone out, so the first read may come too soon.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        var response = await client.GetAsync("/metrics");
        var body = await response.Content.ReadAsStringAsync();
        while (!body.Contains("http_server_request_duration", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
            response = await client.GetAsync("/metrics");
            body = await response.Content.ReadAsStringAsync();
        }

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(body, Does.Contain("http_server_request_duration"));
    }
}
