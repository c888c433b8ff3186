using Discounts.Core.Data;
using Discounts.Web.Infrastructure;
using FluentValidation;
using Mediator;
using Microsoft.AspNetCore.Mvc;

namespace Discounts.Web.Features.Items;

public static class UpsertItem
{
    public sealed record Command(string? Id, string? Title, string? Description, string? Category, string? Brand, long? PriceCents, long? CostCents)
        : ICommand<Result>, IItemFields;

    /// <summary>The item's fields; its id is in the path.</summary>
    public sealed record ItemBody(string? Title, string? Description, string? Category, string? Brand, long? PriceCents, long? CostCents);

    public sealed record Result(string Id, bool Created);

    public sealed class Validator : AbstractValidator<Command>
    {
        public Validator() => Include(new ItemFieldsValidator<Command>());
    }

    public sealed class Handler(DiscountsDbContext db, TimeProvider clock) : ICommandHandler<Command, Result>
    {
        public async ValueTask<Result> Handle(Command command, CancellationToken cancellationToken)
        {
            var (created, _) = await ItemWrites.WriteAsync(db, [command], clock.GetUtcNow().UtcDateTime, cancellationToken);
            return new Result(command.Id!, created == 1);
        }
    }

    public static void Map(RouteGroupBuilder group) =>
        group.MapPut("/{id}", async (string id, [FromBody] ItemBody item, ISender sender, CancellationToken cancellationToken) =>
                TypedResults.Ok(await sender.Send(
                    new Command(id, item.Title, item.Description, item.Category, item.Brand, item.PriceCents, item.CostCents), cancellationToken)))
            .WithName("UpsertItem")
            .WithSummary("Create or update one catalogue item")
            .WithDescription("The path holds the shop's item id. Money is integer cents.")
            .RequireAuthorization(Policies.Shop)
            .ProducesValidationProblem();
}
