using FluentValidation;

namespace Discounts.Web.Features;

/// <summary>Keyset paging shared by list endpoints: a page size and an opaque cursor from the previous page.</summary>
public static class Paging
{
    public const int DefaultLimit = 50;

    public static IRuleBuilderOptions<T, int> ValidLimit<T>(this IRuleBuilder<T, int> rule) =>
        rule.InclusiveBetween(1, Core.Data.Limits.MaxPageSize)
            .WithMessage($"limit must be between 1 and {Core.Data.Limits.MaxPageSize}.");

    public static IRuleBuilderOptions<T, string?> ValidCursor<T>(this IRuleBuilder<T, string?> rule) =>
        rule.Must(cursor => cursor is null || TryReadCursor(cursor, out _))
            .WithMessage("cursor must be the nextCursor of a previous page.");

    public static long ReadCursor(string? cursor) => cursor is not null && TryReadCursor(cursor, out var after) ? after : 0;

    public static string? NextCursor<T>(IReadOnlyList<T> page, int limit, Func<T, long> id) =>
        page.Count > limit ? id(page[limit - 1]).ToString(System.Globalization.CultureInfo.InvariantCulture) : null;

    private static bool TryReadCursor(string cursor, out long after) =>
        long.TryParse(cursor, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out after);
}
