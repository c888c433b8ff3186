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

    /// <summary>The fields every item write carries, so the batch and the single write share one set of rules.</summary>
    public interface IItemFields
    {
        string? Id { get; }
        string? Title { get; }
        string? Description { get; }
        string? Category { get; }
        string? Brand { get; }
        long? PriceCents { get; }
        long? CostCents { get; }
    }

    public sealed record Result(int Created, int Updated);

    public sealed class ItemFieldsValidator<T> : AbstractValidator<T>
        where T : IItemFields
    {
        public ItemFieldsValidator()
        {
            RuleFor(r => r.Id).ValidExternalId();
            RuleFor(r => r.Title).NotEmpty().WithMessage("title is required.").MaximumLength(Limits.TitleLength);
            RuleFor(r => r.Description).MaximumLength(Limits.DescriptionLength);
            RuleFor(r => r.Category).NotEmpty().WithMessage("category is required.").MaximumLength(Limits.NameLength);
            RuleFor(r => r.Brand).MaximumLength(Limits.NameLength);
            RuleFor(r => r.PriceCents).NotNull().WithMessage("priceCents is required.")
                .GreaterThanOrEqualTo(0).WithMessage("priceCents must be 0 or more (integer cents).");
            RuleFor(r => r.CostCents).GreaterThanOrEqualTo(0).WithMessage("costCents must be 0 or more (integer cents).");
        }
    }

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
            var (created, updated) = await WriteAsync(db, command.Items!, clock.GetUtcNow().UtcDateTime, cancellationToken);
            return new Result(created, updated);
        }
    }

    /// <summary>Inserts new items and updates known ones in one transaction.</summary>
    public static async Task<(int Created, int Updated)> WriteAsync(
        DiscountsDbContext db, IReadOnlyList<IItemFields> records, DateTime nowUtc, CancellationToken cancellationToken)
    {
        var ids = records.Select(r => r.Id!).ToList();
        var existing = await db.Items.Where(i => ids.Contains(i.ExternalId)).ToDictionaryAsync(i => i.ExternalId, StringComparer.Ordinal, cancellationToken);
        var created = 0;
        foreach (var record in records)
        {
            if (!existing.TryGetValue(record.Id!, out var item))
            {
                item = new Item { ExternalId = record.Id!, Title = record.Title!, Category = record.Category!, CreatedAt = nowUtc };
                db.Items.Add(item);
                created++;
            }

            item.Title = record.Title!;
            item.Description = record.Description ?? "";
            item.Category = record.Category!;
            item.Brand = record.Brand ?? "";
            item.PriceCents = record.PriceCents!.Value;
            item.CostCents = record.CostCents ?? 0;
            item.UpdatedAt = nowUtc;
        }

        await db.SaveChangesAsync(cancellationToken);
        return (created, records.Count - created);
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
