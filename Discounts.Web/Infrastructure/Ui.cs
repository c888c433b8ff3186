using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;

namespace Discounts.Web.Infrastructure;

/// <summary>
/// The analyst web UI: Razor Pages under /ui, signed in with a cookie that carries the role of the API key pasted on
/// the sign-in page. A policy scheme chooses per request: the X-Api-Key header when sent, the cookie on UI pages and
/// the job dashboard when the cookie is sent, and the cookie for reads of the JSON API (the UI's charts) when no key is
/// sent. Without either, everything outside /ui answers 401 ProblemDetails exactly as before the UI existed.
/// </summary>
public static class UiSetup
{
    public const string CookieScheme = "UiCookie";
    public const string SelectorScheme = "ApiKeyOrCookie";
    public const string CookieName = "discounts.ui";
    public const string SignInPath = "/ui/sign-in";

    /// <summary>Roles that may sign in to the UI: the shop backend's key reads nothing here.</summary>
    public static readonly IReadOnlySet<ApiRole> UiRoles = new HashSet<ApiRole> { ApiRole.Analyst, ApiRole.Scientist, ApiRole.Admin };

    public static IServiceCollection AddDiscountsUi(this IServiceCollection services)
    {
        services.AddRazorPages(options =>
        {
            options.Conventions.AuthorizeFolder("/Ui", Policies.Read);
            options.Conventions.AllowAnonymousToPage("/Ui/SignIn");
        });
        services.AddAuthentication(options =>
            {
                options.DefaultScheme = SelectorScheme;
                options.DefaultChallengeScheme = SelectorScheme;
                options.DefaultForbidScheme = SelectorScheme;
            })
            .AddPolicyScheme(SelectorScheme, "API key or UI cookie", options => options.ForwardDefaultSelector = Select)
            .AddCookie(CookieScheme, options =>
            {
                options.Cookie.Name = CookieName;
                options.Cookie.HttpOnly = true;
                options.Cookie.SameSite = SameSiteMode.Strict;
                options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                options.Cookie.Path = "/";
                options.LoginPath = SignInPath;
                options.AccessDeniedPath = "/ui/denied";
                options.ExpireTimeSpan = TimeSpan.FromHours(8);
                options.SlidingExpiration = true;
                options.Events.OnRedirectToLogin = context => RedirectOrProblem(context, StatusCodes.Status401Unauthorized);
                options.Events.OnRedirectToAccessDenied = context => RedirectOrProblem(context, StatusCodes.Status403Forbidden);
            });
        return services;
    }

    public static bool IsUiPath(PathString path) =>
        path.StartsWithSegments("/ui", StringComparison.OrdinalIgnoreCase) || path.StartsWithSegments("/hangfire", StringComparison.OrdinalIgnoreCase);

    private static string Select(HttpContext context)
    {
        var request = context.Request;
        if (request.Headers.ContainsKey(ApiKeyStore.HeaderName)) return ApiKeyAuthenticationHandler.SchemeName;
        if (request.Path.StartsWithSegments("/ui", StringComparison.OrdinalIgnoreCase)) return CookieScheme;
        if (!request.Cookies.ContainsKey(CookieName)) return ApiKeyAuthenticationHandler.SchemeName;
        // With the cookie: the job dashboard (whose own forms carry antiforgery tokens), and reads of the JSON API. API
        // writes need the key header, which a browser never adds on its own, so a forged cross-site request cannot act
        // even if SameSite were bypassed; the UI's own writes are antiforgery-checked forms under /ui.
        if (request.Path.StartsWithSegments("/hangfire", StringComparison.OrdinalIgnoreCase)) return CookieScheme;
        return HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) ? CookieScheme : ApiKeyAuthenticationHandler.SchemeName;
    }

    /// <summary>UI pages redirect to sign-in; anything else (the JSON API) answers with ProblemDetails, never a redirect.</summary>
    private static async Task RedirectOrProblem(RedirectContext<CookieAuthenticationOptions> context, int status)
    {
        if (IsUiPath(context.Request.Path))
        {
            context.Response.Redirect(context.RedirectUri);
            return;
        }

        context.Response.StatusCode = status;
        await context.HttpContext.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context.HttpContext,
            ProblemDetails =
            {
                Status = status,
                Title = status == StatusCodes.Status401Unauthorized ? "Authentication required" : "Forbidden",
                Detail = status == StatusCodes.Status401Unauthorized
                    ? $"Sign in at {SignInPath} or send a valid API key in the {ApiKeyStore.HeaderName} header."
                    : "Your role may not do this.",
            },
        });
    }

    /// <summary>The cookie's principal: the same claims the key itself would give, without the key.</summary>
    public static ClaimsPrincipal Principal(ApiRole role, string keyId, int? permitsPerSecond)
    {
        List<Claim> claims = [new(ClaimTypes.Name, $"key-{keyId}"), new(ClaimTypes.Role, role.ToString())];
        if (permitsPerSecond is { } rate)
        {
            claims.Add(new Claim(RateLimitingSetup.PermitsPerSecondClaim, rate.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        return new ClaimsPrincipal(new ClaimsIdentity(claims, CookieScheme));
    }

    public static void MapDiscountsUi(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapRazorPages();
}
