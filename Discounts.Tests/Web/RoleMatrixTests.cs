using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Discounts.Web.Infrastructure;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Discounts.Tests.Web;

/// <summary>
/// Who may call what, over the whole endpoint table: every route is called anonymously and with each role's key, and
/// only 401/403 count as "denied" (a 400 or 404 from a probe input means the caller got past authorization). An
/// endpoint missing from <see cref="Matrix"/> fails the test, so every new endpoint must be classified here.
/// </summary>
public sealed partial class RoleMatrixTests
{
    private static readonly ApiRole[] Shop = [ApiRole.Shop, ApiRole.Admin];
    private static readonly ApiRole[] Read = [ApiRole.Analyst, ApiRole.Scientist, ApiRole.Admin];
    private static readonly ApiRole[] ShopAndRead = [ApiRole.Shop, ApiRole.Analyst, ApiRole.Scientist, ApiRole.Admin];
    private static readonly ApiRole[] Science = [ApiRole.Scientist, ApiRole.Admin];
    private static readonly ApiRole[] AdminOnly = [ApiRole.Admin];
    private static readonly ApiRole[] AnyKey = Enum.GetValues<ApiRole>();

    /// <summary>null: anonymous callers are let in too.</summary>
    private static readonly ApiRole[]? Anonymous = null;

    /// <summary>The expected matrix: "METHOD route pattern" → roles let in (Admin is in every list).</summary>
    private static readonly Dictionary<string, ApiRole[]?> Matrix = new(StringComparer.Ordinal)
    {
        ["GET /health/live"] = Anonymous,
        ["GET /health/ready"] = Anonymous,
        ["GET /openapi/v1.json"] = AnyKey,
        ["GET /scalar/{documentName?}"] = AnyKey,
        // Scalar serves its page's script and icon anonymously: static files of the package, no data and no API.
        ["GET /scalar/scalar.js"] = Anonymous,
        ["GET /scalar/scalar.aspnetcore.js"] = Anonymous,
        ["GET /scalar/favicon.svg"] = Anonymous,
        ["GET /metrics"] = Read,

        ["GET /api/items"] = Read,
        ["PUT /api/items/{id}"] = Shop,
        ["POST /api/items/batch"] = Shop,

        ["GET /api/users"] = Read,
        ["PUT /api/users/{id}"] = Shop,
        ["DELETE /api/users/{id}"] = AdminOnly,
        ["GET /api/users/{id}/profile"] = ShopAndRead,
        ["GET /api/users/{id}/recommendations"] = Shop,
        ["GET /api/recommendations/outcomes"] = Read,
        ["GET /api/dashboard/counts"] = Read,

        ["POST /api/events/batch"] = Shop,
        ["POST /api/texts/batch"] = Shop,
        ["POST /api/profiles/rebuild"] = Science,

        ["POST /api/discounts/quotes"] = Shop,
        ["POST /api/discounts/offers/{offerId}/redeem"] = Shop,
        ["POST /api/discounts/uplift-model/train"] = Science,
        ["GET /api/discounts/policy-evaluation"] = Read,
        ["GET /api/discounts/audit"] = Read,
        ["GET /api/discounts/activity"] = Read,
        ["GET /api/discounts/uplift-evaluation"] = Read,

        ["POST /api/training/runs"] = Science,
        ["GET /api/training/runs"] = Read,
        ["GET /api/training/runs/{id:long}"] = Read,
        ["POST /api/training/runs/{id:long}/cancel"] = Science,
        ["GET /api/training/runs/{id:long}/loss"] = Read,
        ["GET /api/training/runs/{id:long}/metrics"] = Read,

        ["GET /api/models"] = Read,
        ["GET /api/models/nodes"] = Read,
        ["POST /api/models/{id:long}/activate"] = Science,
    };

    /// <summary>
    /// Not API endpoints, each covered by its own tests: the Hangfire dashboard (ApiKeyTests: 401 anonymous, 403 for
    /// Shop/Analyst, 200 for Scientist) and the browser UI's pages and assets, which sign in with a cookie.
    /// </summary>
    private static readonly string[] SkippedPrefixes = ["/hangfire", "/ui", "/app", "/account", "/css", "/js", "/lib", "/_"];

    /// <summary>
    /// Bodies that get past authorization but are refused by validation, so an allowed call changes nothing. Routes not
    /// listed get <c>{}</c>. String ids in paths are an id every validator refuses; numeric ids one that does not exist.
    /// </summary>
    private static readonly Dictionary<string, string> Bodies = new(StringComparer.Ordinal)
    {
        ["POST /api/training/runs"] = """{"epochs": 0}""",
        ["PUT /api/users/{id}"] = """{"createdAt": "2026-01-01T00:00:00"}""",
        ["PUT /api/items/{id}"] = """{"priceCents": -1}""",
    };

    /// <summary>Queries that validation refuses, for reads that would otherwise do expensive work (a model fit).</summary>
    private static readonly Dictionary<string, string> Queries = new(StringComparer.Ordinal)
    {
        ["GET /api/discounts/uplift-evaluation"] = "?holdoutShare=2",
    };

    private const string RefusedId = "-matrix-probe";
    private const string MissingNumericId = "987654321";

    [Test]
    public void Matrix_CoversEveryEndpointInTheTable()
    {
        var missing = ApiEndpoints().Where(e => !Matrix.ContainsKey(e)).ToList();
        Assert.That(missing, Is.Empty,
            "Classify these endpoints in RoleMatrixTests.Matrix (or skip a non-API prefix in SkippedPrefixes): " + string.Join(", ", missing));
    }

    [Test]
    public async Task EveryEndpoint_WhenCalledAnonymouslyAndWithEachRole_AdmitsExactlyTheMatrix()
    {
        var endpoints = ApiEndpoints().Where(Matrix.ContainsKey).ToList();
        Assert.That(endpoints, Has.Count.GreaterThanOrEqualTo(25));
        var callers = new List<ApiRole?> { null };
        callers.AddRange(Enum.GetValues<ApiRole>().Cast<ApiRole?>());
        var clients = callers.ToDictionary(c => c?.ToString() ?? "anonymous", TestHost.Client);
        var wrong = new List<string>();
        var calls = 0;
        try
        {
            foreach (var endpoint in endpoints)
            {
                var allowed = Matrix[endpoint];
                foreach (var caller in callers)
                {
                    var status = await CallAsync(clients[caller?.ToString() ?? "anonymous"], endpoint);
                    calls++;
                    var expectAllowed = allowed is null || (caller is { } role && allowed.Contains(role));
                    var denied = status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden;
                    var expectedDenial = caller is null ? HttpStatusCode.Unauthorized : HttpStatusCode.Forbidden;
                    if (expectAllowed ? denied || (int)status >= 500 : status != expectedDenial)
                    {
                        wrong.Add($"{endpoint} as {caller?.ToString() ?? "anonymous"}: {(int)status}, expected {(expectAllowed ? "allowed" : ((int)expectedDenial).ToString(System.Globalization.CultureInfo.InvariantCulture))}");
                    }
                }
            }
        }
        finally
        {
            foreach (var client in clients.Values)
            {
                client.Dispose();
            }

            // Rebuild and uplift training take no input, so an allowed call queues real (deduplicated) work: let it finish.
            await TestHost.WaitForBackgroundJobsAsync(TimeSpan.FromSeconds(300));
        }

        TestContext.Out.WriteLine($"{calls} calls over {endpoints.Count} endpoints × {callers.Count} callers");
        Assert.That(wrong, Is.Empty, string.Join("\n", wrong));
    }

    [Test]
    public void Matrix_GivesAdminEverythingAndAnonymousOnlyHealthAndStaticFiles()
    {
        Assert.Multiple(() =>
        {
            foreach (var (endpoint, roles) in Matrix)
            {
                if (roles is null)
                {
                    Assert.That(endpoint, Does.StartWith("GET /health/").Or.Match(@"^GET /scalar/[\w.]+\.(js|svg)$"),
                        "only health and the API reference's static files are anonymous");
                }
                else
                {
                    Assert.That(roles, Does.Contain(ApiRole.Admin), endpoint);
                }
            }
        });
    }

    private static async Task<HttpStatusCode> CallAsync(HttpClient client, string endpoint)
    {
        var space = endpoint.IndexOf(' ', StringComparison.Ordinal);
        var method = endpoint[..space];
        var route = endpoint[(space + 1)..];
        var path = RouteParameter().Replace(route, m =>
            m.Groups["optional"].Success ? "" : m.Groups["constraint"].Value.Contains("long", StringComparison.Ordinal) ? MissingNumericId : RefusedId);
        using var request = new HttpRequestMessage(new HttpMethod(method), path.TrimEnd('/') + Queries.GetValueOrDefault(endpoint, ""));
        if (method is "POST" or "PUT" or "PATCH")
        {
            request.Content = new StringContent(Bodies.GetValueOrDefault(endpoint, "{}"), Encoding.UTF8, "application/json");
        }

        using var response = await client.SendAsync(request);
        return response.StatusCode;
    }

    /// <summary>"METHOD pattern" for every routed endpoint, minus the skipped non-API prefixes and Razor pages.</summary>
    private static List<string> ApiEndpoints() =>
        TestHost.Factory.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .Where(e => e.Metadata.All(m => !m.GetType().Name.Contains("PageActionDescriptor", StringComparison.Ordinal)))
            .Select(e => (Methods: e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["GET"], Route: "/" + (e.RoutePattern.RawText ?? "").Trim('/')))
            .Where(e => !SkippedPrefixes.Any(prefix => e.Route.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)))
            .SelectMany(e => e.Methods.Select(method => $"{method} {e.Route}"))
            .Distinct()
            .Order(StringComparer.Ordinal)
            .ToList();

    [GeneratedRegex(@"\{(?<name>\*{0,2}[^}:?=]+)(?<constraint>:[^}?=]+)?(?<optional>\?)?(=[^}]*)?\}")]
    private static partial Regex RouteParameter();
}
