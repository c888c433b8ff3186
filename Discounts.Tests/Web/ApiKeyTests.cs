using System.Net;
using Discounts.Core.Data;
using Discounts.Web.Infrastructure;

namespace Discounts.Tests.Web;

public sealed class ApiKeyTests
{
    [Test]
    public async Task GetItems_WhenAnonymous_Returns401Problem()
    {
        using var client = TestHost.Client(null);
        var json = await (await client.GetAsync("/api/items")).AssertProblemAsync(HttpStatusCode.Unauthorized);
        Assert.That(json.GetProperty("detail").GetString(), Does.Contain("X-Api-Key"));
    }

    [Test]
    public async Task GetItems_WhenKeyIsUnknown_Returns401Problem()
    {
        using var client = TestHost.Client(null);
        client.DefaultRequestHeaders.Add(ApiKeyStore.HeaderName, "not-a-key-of-ours-0123456789");
        await (await client.GetAsync("/api/items")).AssertProblemAsync(HttpStatusCode.Unauthorized);
    }

    [Test]
    public async Task GetItems_WhenRoleIsShop_Returns403Problem()
    {
        using var client = TestHost.Client(ApiRole.Shop);
        await (await client.GetAsync("/api/items")).AssertProblemAsync(HttpStatusCode.Forbidden);
    }

    [TestCase(ApiRole.Analyst)]
    [TestCase(ApiRole.Scientist)]
    [TestCase(ApiRole.Admin)]
    public async Task GetUsers_WhenRoleMayRead_Returns200(ApiRole role)
    {
        using var client = TestHost.Client(role);
        var response = await client.GetAsync("/api/users?limit=1");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [TestCase("/health/live")]
    [TestCase("/health/ready")]
    public async Task Health_WhenAnonymous_Returns200(string path)
    {
        using var client = TestHost.Client(null);
        var response = await client.GetAsync(path);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
    }

    [TestCase("/openapi/v1.json")]
    [TestCase("/scalar")]
    [TestCase("/metrics")]
    [TestCase("/hangfire")]
    public async Task NonHealthEndpoint_WhenAnonymous_Returns401(string path)
    {
        using var client = TestHost.Client(null);
        var response = await client.GetAsync(path);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task HangfireDashboard_WhenScientist_Returns200AndHidesConnectionString()
    {
        using var client = TestHost.Client(ApiRole.Scientist);
        var response = await client.GetAsync("/hangfire");
        var html = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(html, Does.Contain("Discounts jobs"));
        Assert.That(html, Does.Not.Contain(TestHost.DataDirectory));
    }

    [TestCase(ApiRole.Analyst)]
    [TestCase(ApiRole.Shop)]
    public async Task HangfireDashboard_WhenRoleIsNotScience_Returns403(ApiRole role)
    {
        using var client = TestHost.Client(role);
        var response = await client.GetAsync("/hangfire");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
    }

    [Test]
    public void TryAuthenticate_WhenKeyMatches_ReturnsItsRoleAndAnIdThatIsNotTheKey()
    {
        var store = new ApiKeyStore([("shop-key-0123456789abcdef", ApiRole.Shop), ("admin-key-0123456789abcdef", ApiRole.Admin)]);

        Assert.Multiple(() =>
        {
            Assert.That(store.TryAuthenticate("admin-key-0123456789abcdef", out var role, out var keyId), Is.True);
            Assert.That(role, Is.EqualTo(ApiRole.Admin));
            Assert.That(keyId, Has.Length.EqualTo(8).And.Not.Contain("admin"));
            Assert.That(store.TryAuthenticate("admin-key-0123456789abcdeF", out _, out _), Is.False);
            Assert.That(store.TryAuthenticate("", out _, out _), Is.False);
        });
    }

    [Test]
    [Platform("Linux,MacOsX")]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void Create_WhenNoKeyConfigured_GeneratesPrivateAdminKeyOnceAndReusesIt()
    {
        var directory = Directory.CreateTempSubdirectory("discounts-keys-").FullName;
        try
        {
            var paths = new DataPaths(directory);
            var firstConsole = new StringWriter();
            var first = ApiKeyBootstrap.Create(new AuthOptions(), paths, firstConsole);
            var key = File.ReadAllText(paths.AdminKey).Trim();

            var secondConsole = new StringWriter();
            var second = ApiKeyBootstrap.Create(new AuthOptions(), paths, secondConsole);

            Assert.Multiple(() =>
            {
                Assert.That(key, Has.Length.GreaterThanOrEqualTo(40));
                Assert.That(File.GetUnixFileMode(paths.AdminKey), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
                Assert.That(firstConsole.ToString(), Does.Contain(key).And.Contain(paths.AdminKey));
                Assert.That(secondConsole.ToString(), Does.Not.Contain(key).And.Contain(paths.AdminKey));
                Assert.That(first.TryAuthenticate(key, out var role, out _) && role == ApiRole.Admin, Is.True);
                Assert.That(second.TryAuthenticate(key, out _, out _), Is.True);
            });
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
