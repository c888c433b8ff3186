using Discounts.Core.Data;
using Discounts.Core.Domain;
using Discounts.Web.Infrastructure;
using FluentValidation;
using FluentValidation.Results;
using Mediator;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace Discounts.Web.Features.Items;

public static class UpsertItems
{
    public sealed record Command(IReadOnlyList<ItemRecord>? Items) : ICommand<Result>;

    /// <summary>One catalogue item as the shop sends it; <c>id</c> is the shop's own id.</summary>
    public sealed record ItemRecord(string? Id, string? Title, string? Description, string? Category, string? Brand, long? PriceCents, long? CostCents)
        : IItemFields;

    public sealed record Result(int Created, int Updated);

    public sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.Items).ValidBatch();
            RuleForEach(c => c.Items).NotNull().WithMessage("A record must not be null.").SetValidator(new ItemFieldsValidator<ItemRecord>());
            RuleForEach(c => c.Items)
                .Must((command, record, context) => record?.Id is null || command.Items!.Count(r => r?.Id == record.Id) == 1)
                .WithMessage("The same item id appears more than once in the batch.")
                .OverridePropertyName("Items");
        }
    }

    public sealed class Handler(DiscountsDbContext db, TimeProvider clock) : ICommandHandler<Command, Result>
    {
        public async ValueTask<Result> Handle(Command command, CancellationToken cancellationToken)
        {
            var (created, updated) = await ItemWrites.WriteAsync(db, command.Items!, clock.GetUtcNow().UtcDateTime, cancellationToken);
            return new Result(created, updated);
        }
    }

    public static void Map(RouteGroupBuilder group) =>
        group.MapPost("/batch", async ([FromBody] Command command, ISender sender, CancellationToken cancellationToken) =>
                TypedResults.Ok(await sender.Send(command, cancellationToken)))
            .WithName("UpsertItems")
            .WithSummary("Create or update up to 10,000 catalogue items")
            .WithDescription("All or nothing: one bad record rejects the batch with errors keyed like items[3].priceCents. Money is integer cents.")
            .RequireAuthorization(Policies.Shop)
            .WithMetadata(new RequestSizeLimitAttribute(Ingestion.MaxBodyBytes))
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge);
}
