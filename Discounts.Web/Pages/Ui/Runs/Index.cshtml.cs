using Discounts.Training.FineTuning;
using Discounts.Training.Scorer;
using Discounts.Web.Features.Training;
using FluentValidation;
using Mediator;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace Discounts.Web.Pages.Ui.Runs;

public sealed class RunsModel(ISender sender, IOptions<FineTuneOptions> options) : UiPageModel
{
    public IReadOnlyList<ListTrainingRuns.RunSummary> Runs { get; private set; } = [];

    public FineTuneHyperparameters Defaults => options.Value.Hyperparameters;

    public string? Message { get; private set; }

    public async Task OnGetAsync(CancellationToken cancellationToken) =>
        Runs = (await sender.Send(new ListTrainingRuns.Query(), cancellationToken)).Runs;

    public async Task<IActionResult> OnPostStartAsync(StartTrainingRun.Request request, CancellationToken cancellationToken)
    {
        if (!CanAct) return Forbid();
        try
        {
            var started = await sender.Send(new StartTrainingRun.Command(request.Over(Defaults)), cancellationToken);
            return Redirect($"/ui/runs/{started.Id}");
        }
        catch (ValidationException invalid)
        {
            Message = "The run was not started: " + string.Join(" ", invalid.Errors.Select(e => e.ErrorMessage));
            Response.StatusCode = StatusCodes.Status400BadRequest;
        }
        catch (Infrastructure.ConflictException conflict)
        {
            Message = conflict.Message;
            Response.StatusCode = StatusCodes.Status409Conflict;
        }

        await OnGetAsync(cancellationToken);
        return Page();
    }
}
