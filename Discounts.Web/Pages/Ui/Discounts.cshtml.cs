using System.Text.Json;
using Discounts.Web.Features.Discounts;
using Mediator;

namespace Discounts.Web.Pages.Ui;

public sealed class DiscountsPageModel(ISender sender) : UiPageModel
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public GetDiscountActivity.Result Activity { get; private set; } = null!;

    /// <summary>The days for the chart; System.Text.Json escapes &lt; and &gt;, so it is safe inside a script element.</summary>
    public string ActivityJson { get; private set; } = "[]";

    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        Activity = await sender.Send(new GetDiscountActivity.Query(90), cancellationToken);
        ActivityJson = JsonSerializer.Serialize(Activity.Days, Json);
    }
}
