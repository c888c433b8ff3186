using Discounts.Web.Features.Training;
using Discounts.Web.Infrastructure;
using Mediator;
using Microsoft.AspNetCore.Mvc;

namespace Discounts.Web.Pages.Ui.Runs;

public sealed class RunDetailModel(ISender sender) : UiPageModel
{
    public GetTrainingRun.Result Run { get; private set; } = null!;

    public string? Message { get; private set; }

    public async Task<IActionResult> OnGetAsync(long id, CancellationToken cancellationToken)
    {
        try
        {
            Run = await sender.Send(new GetTrainingRun.Query(id), cancellationToken);
            return Page();
        }
        catch (NotFoundException)
        {
            return NotFound();
        }
    }

    public async Task<IActionResult> OnPostCancelAsync(long id, CancellationToken cancellationToken)
    {
        if (!CanAct) return Forbid();
        try
        {
            await sender.Send(new CancelTrainingRun.Command(id), cancellationToken);
        }
        catch (ConflictException conflict)
        {
            Message = conflict.Message;
            await OnGetAsync(id, cancellationToken);
            Response.StatusCode = StatusCodes.Status409Conflict;
            return Page();
        }

        return Redirect($"/ui/runs/{id}");
    }
}
