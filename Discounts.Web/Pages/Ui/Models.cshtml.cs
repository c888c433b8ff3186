using Discounts.Web.Features.Models;
using Discounts.Web.Infrastructure;
using Mediator;
using Microsoft.AspNetCore.Mvc;

namespace Discounts.Web.Pages.Ui;

public sealed class ModelsPageModel(ISender sender) : UiPageModel
{
    public ListModels.Result Models { get; private set; } = null!;

    [TempData]
    public string? Message { get; set; }

    [TempData]
    public bool Failed { get; set; }

    public async Task OnGetAsync(CancellationToken cancellationToken) =>
        Models = await sender.Send(new ListModels.Query(), cancellationToken);

    public async Task<IActionResult> OnPostActivateAsync(long id, CancellationToken cancellationToken)
    {
        if (!CanAct) return Forbid();
        try
        {
            var result = await sender.Send(new ActivateModel.Command(id), cancellationToken);
            Message = $"Version {result.Id} is serving now (swapped in {UiFormat.Number(result.SwapMilliseconds, 1)} ms).";
            Failed = false;
        }
        catch (Exception error) when (error is ConflictException or NotFoundException)
        {
            Message = error.Message;
            Failed = true;
        }

        // Post, redirect, get: a reload does not activate twice.
        return RedirectToPage();
    }
}
