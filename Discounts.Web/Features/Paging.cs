using System.Linq.Expressions;
using Discounts.Core.Domain;
using FluentValidation;
using Microsoft.EntityFrameworkCore;

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

    private static long ReadCursor(string? cursor) => cursor is not null && TryReadCursor(cursor, out var after) ? after : 0;

    /// <summary>
    /// One page after the cursor, in key order, projected by <paramref name="summary"/> in the database. One row more
    /// than the page is read to learn whether another page follows.
    /// </summary>
    public static async Task<(IReadOnlyList<TSummary> Page, string? NextCursor)> PageAsync<TEntity, TSummary>(
        this IQueryable<TEntity> source, string? cursor, int limit, Expression<Func<TEntity, TSummary>> summary, CancellationToken cancellationToken)
        where TEntity : class, IKeyed
    {
        var after = ReadCursor(cursor);
        var rows = await source.Where(e => e.Id > after).OrderBy(e => e.Id).Take(limit + 1).Select(WithKey(summary)).ToListAsync(cancellationToken);
        var next = rows.Count > limit ? rows[limit - 1].Id.ToString(System.Globalization.CultureInfo.InvariantCulture) : null;
        return (rows.Take(limit).Select(r => r.Summary).ToList(), next);
    }

    private sealed record Keyed<TSummary>(long Id, TSummary Summary);

    /// <summary>e => new Keyed(e.Id, summary(e)), built as one expression so the database does the projection.</summary>
    private static Expression<Func<TEntity, Keyed<TSummary>>> WithKey<TEntity, TSummary>(Expression<Func<TEntity, TSummary>> summary)
    {
        var entity = summary.Parameters[0];
        var body = Expression.New(typeof(Keyed<TSummary>).GetConstructors()[0], Expression.Property(entity, nameof(IKeyed.Id)), summary.Body);
        return Expression.Lambda<Func<TEntity, Keyed<TSummary>>>(body, entity);
    }

    private static bool TryReadCursor(string cursor, out long after) =>
        long.TryParse(cursor, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out after);
}
