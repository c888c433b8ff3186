using Discounts.Web.Features.Training;
using Mediator;
using Microsoft.AspNetCore.Mvc;

namespace Discounts.Web.Pages.Ui.Runs;

public sealed class CompareModel(ISender sender) : UiPageModel
{
    private const int MaxRuns = 8;

    [BindProperty(SupportsGet = true)]
    public List<long> Ids { get; set; } = [];

    public IReadOnlyList<ListTrainingRuns.RunSummary> Runs { get; private set; } = [];

    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        Runs = (await sender.Send(new ListTrainingRuns.Query(), cancellationToken)).Runs;
        // Only runs that exist, and few enough that each keeps a colour of its own.
        Ids = Ids.Where(id => Runs.Any(r => r.Id == id)).Distinct().Take(MaxRuns).ToList();
    }
}
