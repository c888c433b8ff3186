using System.Net;
using System.Net.Http.Json;
using Discounts.Core.Data;
using Discounts.Core.Hosting;
using Discounts.Web.Features.Models;
using Discounts.Web.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Discounts.Tests.Web;

public sealed class NodeTests
{
    [TestCase(null, NodeRoles.All)]
    [TestCase("", NodeRoles.All)]
    [TestCase("web", NodeRoles.Web)]
    [TestCase(" Web , training ", NodeRoles.Web | NodeRoles.Training)]
    [TestCase("worker,worker", NodeRoles.Worker)]
    public void ParseRoles_WhenKnownRoles_CombinesThem(string? roles, NodeRoles expected) =>
        Assert.That(NodeOptions.Parse(roles), Is.EqualTo(expected));

    [Test]
    public void ParseRoles_WhenUnknownRole_FailsNamingTheSettingAndTheRole()
    {
        var error = Assert.Throws<OptionsValidationException>(() => NodeOptions.Parse("web,gpu"));
        Assert.That(error!.Message, Does.Contain("Node:Roles").And.Contain("'gpu'"));
    }

    [Test]
    public void StorageOptions_WhenPostgresWithoutConnectionString_FailsValidationNamingIt()
    {
        var error = Assert.Throws<OptionsValidationException>(() => StorageOptionsFrom(new() { ["Storage:Provider"] = "Postgres" }));
        Assert.That(error!.Message, Does.Contain("ConnectionStrings:Discounts"));
    }

    [Test]
    public void StorageOptions_WhenProviderUnknown_Fails() =>
        Assert.Throws<InvalidOperationException>(() => StorageOptionsFrom(new() { ["Storage:Provider"] = "Oracle" }));

    [Test]
    public void StorageOptions_WhenPostgresWithConnectionString_TakesItAndKeepsArtifactsApart()
    {
        var options = StorageOptionsFrom(new()
        {
            ["Storage:Provider"] = "postgres",
            ["ConnectionStrings:Discounts"] = "Host=db;Database=discounts",
            ["Storage:DataDirectory"] = "/srv/discounts",
            ["Storage:ArtifactDirectory"] = "/mnt/artifacts",
        });
        var paths = new DataPaths(options.DataDirectory, options.ArtifactDirectory);

        Assert.Multiple(() =>
        {
            Assert.That(options.Provider, Is.EqualTo(StorageProvider.Postgres));
            Assert.That(options.ConnectionString, Is.EqualTo("Host=db;Database=discounts"));
            Assert.That(paths.Models, Is.EqualTo("/mnt/artifacts"));
            Assert.That(new DataPaths("/srv/discounts").Models, Is.EqualTo("/srv/discounts/models"));
        });
    }

    [Test]
    public async Task ListModelNodes_WhenHostHeartbeats_ReportsThisNodeWithAllRolesAndItsScorer()
    {
        using var client = TestHost.Client(ApiRole.Analyst);
        ListModelNodes.Result? report = null;
        for (var attempt = 0; attempt < 60 && report?.Nodes.Any(n => n.LoadedName is not null) != true; attempt++)
        {
            if (attempt > 0) await Task.Delay(500);
            report = await client.GetFromJsonAsync<ListModelNodes.Result>("/api/models/nodes", TestJson.Options);
        }

        var node = TestHost.Factory.Services.GetRequiredService<NodeIdentity>();
        var self = report!.Nodes.Single(n => n.NodeId == node.Id);
        Assert.Multiple(() =>
        {
            Assert.That(self.Roles, Is.EqualTo(new[] { "web", "worker", "training" }));
            Assert.That(self.Alive, Is.True);
            Assert.That(self.LoadedName, Is.Not.Null, "the heartbeat carries the scorer this node serves");
            Assert.That(self.LastSeenAt.Kind, Is.EqualTo(DateTimeKind.Utc));
        });
    }

    [Test]
    public async Task ListModelNodes_WhenShopAsks_IsForbidden()
    {
        using var client = TestHost.Client(ApiRole.Shop);
        var response = await client.GetAsync("/api/models/nodes");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
    }

    private static StorageOptions StorageOptionsFrom(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection().AddDiscountsStorage(configuration);
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IOptions<StorageOptions>>().Value;
    }
}
