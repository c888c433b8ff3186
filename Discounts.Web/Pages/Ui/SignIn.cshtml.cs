using Discounts.Web.Infrastructure;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Discounts.Web.Pages.Ui;

public sealed class SignInModel(ApiKeyStore keys) : PageModel
{
    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    public string? Error { get; private set; }

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync(string? key)
    {
        if (string.IsNullOrWhiteSpace(key) || !keys.TryAuthenticate(key.Trim(), out var role, out var keyId, out var permitsPerSecond))
        {
            Error = "That API key is not valid.";
            Response.StatusCode = StatusCodes.Status401Unauthorized;
            return Page();
        }

        if (!UiSetup.UiRoles.Contains(role))
        {
            Error = $"A {role} key cannot sign in to the UI: it needs an Analyst, Scientist or Admin key.";
            Response.StatusCode = StatusCodes.Status403Forbidden;
            return Page();
        }

        await HttpContext.SignInAsync(UiSetup.CookieScheme, UiSetup.Principal(role, keyId, permitsPerSecond));
        // Only back into the UI or the job dashboard: never to another site, whatever the query string says.
        return LocalRedirect(ReturnUrl is { } url && Url.IsLocalUrl(url) && UiSetup.IsUiPath(new PathString(url.Split('?')[0])) ? url : "/ui");
    }
}
