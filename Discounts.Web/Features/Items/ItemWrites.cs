using Discounts.Core.Data;
using Discounts.Core.Domain;
using Discounts.Web.Infrastructure;
using FluentValidation;
using Microsoft.EntityFrameworkCore;

namespace Discounts.Web.Features.Items;

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

/// <summary>The rules every item write checks.</summary>
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

/// <summary>The one item write, shared by the single and the batch endpoint.</summary>
public static class ItemWrites
{
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
}
