using Discounts.Web.Infrastructure;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Discounts.Web.Pages.Ui;

public sealed class SignOutModel : PageModel
{
    public IActionResult OnGet() => Redirect("/ui");

    public async Task<IActionResult> OnPostAsync()
    {
        await HttpContext.SignOutAsync(UiSetup.CookieScheme);
        return Redirect(UiSetup.SignInPath);
    }
}
