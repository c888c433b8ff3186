using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Discounts.Core.Data;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;

namespace Discounts.Web.Infrastructure;

public enum ApiRole
{
    Shop,
    Analyst,
    Scientist,
    Admin,
}

/// <summary>Who may call what. Admin may call everything; each policy names the roles it lets in.</summary>
public static class Policies
{
    /// <summary>The shop backend: ingest, recommend, quote, redeem.</summary>
    public const string Shop = nameof(Shop);
    /// <summary>Reading data, runs, models and outcomes.</summary>
    public const string Read = nameof(Read);
    /// <summary>Training and models.</summary>
    public const string Science = nameof(Science);
    /// <summary>User profiles: the shop reads them to personalise, analysts and scientists to study them.</summary>
    public const string Profiles = nameof(Profiles);
    public const string Admin = nameof(Admin);

    public static readonly IReadOnlyDictionary<string, ApiRole[]> Roles = new Dictionary<string, ApiRole[]>
    {
        [Shop] = [ApiRole.Shop, ApiRole.Admin],
        [Read] = [ApiRole.Analyst, ApiRole.Scientist, ApiRole.Admin],
        [Science] = [ApiRole.Scientist, ApiRole.Admin],
        [Profiles] = [ApiRole.Shop, ApiRole.Analyst, ApiRole.Scientist, ApiRole.Admin],
        [Admin] = [ApiRole.Admin],
    };
}

public sealed class AuthOptions
{
    public const string Section = "Auth";

    [ValidateEnumeratedItems]
    public List<ApiKeyOptions> Keys { get; set; } = [];
}

public sealed class ApiKeyOptions
{
    [Required, MinLength(16, ErrorMessage = "API keys must be at least 16 characters.")]
    public string Key { get; set; } = "";

    [Required]
    public ApiRole? Role { get; set; }

    /// <summary>This key's sustained request rate; empty takes <c>RateLimiting:PermitsPerSecond</c>.</summary>
    [Range(1, 1_000_000)]
    public int? PermitsPerSecond { get; set; }
}

/// <summary>
/// The accepted keys, held only as SHA-256 hashes. A presented key is hashed and compared in constant time, so
/// neither the store nor the comparison reveals a key.
/// </summary>
public sealed class ApiKeyStore
{
    public const string HeaderName = "X-Api-Key";
    private readonly List<(byte[] Hash, ApiRole Role, int? PermitsPerSecond)> keys;

    public ApiKeyStore(IEnumerable<(string Key, ApiRole Role)> keys)
        : this(keys.Select(k => (k.Key, k.Role, (int?)null)))
    {
    }

    public ApiKeyStore(IEnumerable<(string Key, ApiRole Role, int? PermitsPerSecond)> keys)
    {
        this.keys = keys.Select(k => (Hash(k.Key), k.Role, k.PermitsPerSecond)).ToList();
    }

    public int Count => keys.Count;

    public bool TryAuthenticate(string presented, out ApiRole role, out string keyId) =>
        TryAuthenticate(presented, out role, out keyId, out _);

    public bool TryAuthenticate(string presented, out ApiRole role, out string keyId, out int? permitsPerSecond)
    {
        var hash = Hash(presented);
        role = default;
        keyId = "";
        permitsPerSecond = null;
        var found = false;
        // Every key is compared, matched or not, so the time taken says nothing about which key matched.
        foreach (var (candidate, candidateRole, candidateRate) in keys)
        {
            if (CryptographicOperations.FixedTimeEquals(candidate, hash) && !found)
            {
                found = true;
                role = candidateRole;
                permitsPerSecond = candidateRate;
                keyId = Convert.ToHexStringLower(hash.AsSpan(0, 4));
            }
        }

        return found;
    }

    private static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));
}

/// <summary>
/// Builds the key store from configuration. When none is configured, the first start generates one Admin key and
/// keeps it in &lt;data&gt;/admin.key (mode 0600); later starts read it back.
/// </summary>
public static partial class ApiKeyBootstrap
{
    public static ApiKeyStore Create(AuthOptions options, DataPaths paths, TextWriter console)
    {
        if (options.Keys.Count > 0)
        {
            return new ApiKeyStore(options.Keys.Select(k => (k.Key, k.Role!.Value, k.PermitsPerSecond)));
        }

        paths.EnsureCreated();
        if (File.Exists(paths.AdminKey))
        {
            console.WriteLine($"Admin API key: in {paths.AdminKey} (send it as the {ApiKeyStore.HeaderName} header).");
            return new ApiKeyStore([(File.ReadAllText(paths.AdminKey).Trim(), ApiRole.Admin)]);
        }

        var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var fileOptions = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var writer = new StreamWriter(paths.AdminKey, Encoding.ASCII, fileOptions))
        {
            writer.WriteLine(key);
        }

        // The console, not the log: keys never go to logs.
        console.WriteLine($"Generated an Admin API key, shown this once: {key}");
        console.WriteLine($"It is stored in {paths.AdminKey} (mode 0600). Send it as the {ApiKeyStore.HeaderName} header, or paste it on the sign-in page.");
        return new ApiKeyStore([(key, ApiRole.Admin)]);
    }
}

public sealed partial class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ApiKeyStore store,
    IProblemDetailsService problemDetails)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Request.Headers.TryGetValue(ApiKeyStore.HeaderName, out var presented) || string.IsNullOrEmpty(presented))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        if (!store.TryAuthenticate(presented.ToString(), out var role, out var keyId, out var permitsPerSecond))
        {
            return Task.FromResult(AuthenticateResult.Fail("The API key is not valid."));
        }

        List<Claim> claims = [new(ClaimTypes.Name, $"key-{keyId}"), new(ClaimTypes.Role, role.ToString())];
        if (permitsPerSecond is { } rate)
        {
            claims.Add(new Claim(RateLimitingSetup.PermitsPerSecondClaim, rate.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        var identity = new ClaimsIdentity(claims, SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = SchemeName;
        await problemDetails.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails =
            {
                Status = StatusCodes.Status401Unauthorized,
                Title = "Authentication required",
                Detail = $"Send a valid API key in the {ApiKeyStore.HeaderName} header.",
            },
        });
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status403Forbidden;
        await problemDetails.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails =
            {
                Status = StatusCodes.Status403Forbidden,
                Title = "Forbidden",
                Detail = "Your API key's role may not call this endpoint.",
            },
        });
    }
}

public static class ApiKeyAuthenticationSetup
{
    public static IServiceCollection AddApiKeyAuthentication(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<AuthOptions>().Bind(configuration.GetSection(AuthOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(sp => ApiKeyBootstrap.Create(
            sp.GetRequiredService<IOptions<AuthOptions>>().Value, sp.GetRequiredService<DataPaths>(), Console.Out));
        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        var authorization = services.AddAuthorizationBuilder()
            // Anything not marked otherwise needs a known caller: only health is anonymous.
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build());
        foreach (var (policy, roles) in Policies.Roles)
        {
            authorization.AddPolicy(policy, p => p.RequireRole(roles.Select(r => r.ToString())));
        }

        return services;
    }
}
