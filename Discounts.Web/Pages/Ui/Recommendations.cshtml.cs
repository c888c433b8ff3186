using Discounts.Web.Features.Recommendations;
using Mediator;

namespace Discounts.Web.Pages.Ui;

public sealed class RecommendationsPageModel(ISender sender) : UiPageModel
{
    public GetRecommendationOutcomes.Result Outcomes { get; private set; } = null!;

    /// <summary>The highest click-through among versions, so each version's bar is drawn against it.</summary>
    public double MaxClickThrough { get; private set; }

    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        Outcomes = await sender.Send(new GetRecommendationOutcomes.Query(), cancellationToken);
        MaxClickThrough = Outcomes.ByModelVersion.Select(o => o.ClickThroughRate).DefaultIfEmpty(0).Max();
    }
}
