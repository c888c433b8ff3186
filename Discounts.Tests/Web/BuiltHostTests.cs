using System.Net;

namespace Discounts.Tests.Web;

/// <summary>The built host started with `dotnet Discounts.Web.dll` from another folder, in Production, as operators and the load scripts run it.</summary>
[Category("Slow")]
public sealed class BuiltHostTests
{
    private string dataDirectory = "";

    [SetUp]
    public void CreateDataDirectory() => dataDirectory = Directory.CreateTempSubdirectory("discounts-built-").FullName;

    [TearDown]
    public void RemoveDataDirectory() => ChildHost.RemoveDataDirectory(dataDirectory);

    [Test]
    public async Task StaticAssets_WhenStartedOutsideTheBuildFolderInProduction_AreServed()
    {
        using var host = await ChildHost.StartAsync(dataDirectory, new Dictionary<string, string> { ["ASPNETCORE_ENVIRONMENT"] = "Production" });

        foreach (var (path, mediaType) in new[] { ("/ui/site.css", "text/css"), ("/ui/app.js", "javascript"), ("/lib/uplot/uPlot.iife.min.js", "javascript") })
        {
            using var response = await host.Client.GetAsync(path);
            var body = await response.Content.ReadAsStringAsync();
            Assert.Multiple(() =>
            {
                Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), path);
                Assert.That(response.Content.Headers.ContentType?.MediaType, Does.Contain(mediaType), path);
                Assert.That(body, Has.Length.GreaterThan(100), path);
            });
        }
    }
}
