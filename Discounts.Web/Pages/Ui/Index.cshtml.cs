using Discounts.Core.Domain;
using Discounts.Web.Features.Dashboard;
using Discounts.Web.Features.Models;
using Discounts.Web.Features.Training;
using Mediator;

namespace Discounts.Web.Pages.Ui;

public sealed class OverviewModel(ISender sender) : UiPageModel
{
    public GetShopCounts.Result Counts { get; private set; } = null!;

    public ListModels.Result Models { get; private set; } = null!;

    public ListModels.ModelSummary? ActiveModel { get; private set; }

    public IReadOnlyList<ListTrainingRuns.RunSummary> Runs { get; private set; } = [];

    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        Counts = await sender.Send(new GetShopCounts.Query(), cancellationToken);
        Models = await sender.Send(new ListModels.Query(), cancellationToken);
        ActiveModel = Models.Models.FirstOrDefault(m => m.Id == Models.ServingModelVersionId)
                      ?? Models.Models.FirstOrDefault(m => m.Status == ModelStatus.Active);
        Runs = (await sender.Send(new ListTrainingRuns.Query(), cancellationToken)).Runs.Take(5).ToList();
    }
}
