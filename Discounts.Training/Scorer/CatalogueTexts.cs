using Discounts.Core.Data;
using Microsoft.EntityFrameworkCore;

namespace Discounts.Training.Scorer;

/// <summary>An item and the text its tower reads.</summary>
public sealed record CatalogueItem(long Id, string Text);

/// <summary>The catalogue as the item tower reads it; training and serving embed the same texts.</summary>
public static class CatalogueTexts
{
    /// <summary>Every item with its item-side text, in id order.</summary>
    public static async Task<List<CatalogueItem>> LoadAsync(DiscountsDbContext db, CancellationToken cancellationToken) =>
        (await db.Items.AsNoTracking().OrderBy(i => i.Id)
            .Select(i => new { i.Id, i.Title, i.Category, i.Brand, i.Description })
            .ToListAsync(cancellationToken))
        .Select(i => new CatalogueItem(i.Id, UserSide.ItemSideText(i.Title, i.Category, i.Brand, i.Description)))
        .ToList();
}
