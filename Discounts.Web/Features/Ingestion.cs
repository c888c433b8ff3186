using Discounts.Core.Data;
using Discounts.Core.Domain;
using FluentValidation;
using FluentValidation.Results;
using Microsoft.EntityFrameworkCore;

namespace Discounts.Web.Features;

/// <summary>What the ingestion slices share: id and time rules, resolving the shop's ids, and refusing a batch by record.</summary>
public static class Ingestion
{
    /// <summary>Request bodies above this are refused with 413 before they are read.</summary>
    public const long MaxBodyBytes = 64L * 1024 * 1024;

    /// <summary>Clocks drift; an event a few minutes "from the future" is a skewed clock, not an error.</summary>
    public static readonly TimeSpan AllowedClockSkew = TimeSpan.FromMinutes(5);

    /// <summary>At most this many per-record errors are reported, so a broken 10,000-record batch gives a readable answer.</summary>
    public const int MaxReportedErrors = 100;

    /// <summary>
    /// A shop's id: a letter or digit, then letters, digits and <c>. _ : @ -</c>. Ids appear in URL paths, so slashes,
    /// dot-dot segments, spaces, quotes and control characters are refused rather than escaped everywhere.
    /// </summary>
    public static IRuleBuilderOptions<T, string?> ValidExternalId<T>(this IRuleBuilder<T, string?> rule) =>
        rule.NotEmpty().WithMessage("{PropertyName} is required.")
            .MaximumLength(Limits.ExternalIdLength)
            .Must(id => id is null || IsSafeId(id))
            .WithMessage("{PropertyName} must start with a letter or digit and hold only letters, digits and . _ : @ - (no '..').");

    private static bool IsSafeId(string id) =>
        id.Length > 0 && char.IsAsciiLetterOrDigit(id[0]) && !id.Contains("..", StringComparison.Ordinal)
        && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or ':' or '@' or '-');

    /// <summary>A time must say its zone (Z or ±hh:mm), so it converts to UTC without guessing, and must not lie ahead.</summary>
    public static IRuleBuilderOptions<T, DateTime?> ValidEventTime<T>(this IRuleBuilder<T, DateTime?> rule, TimeProvider clock) =>
        rule.Must(at => at is not { Kind: DateTimeKind.Unspecified })
            .WithMessage("{PropertyName} must carry a time zone, e.g. 2026-11-28T09:30:00Z.")
            .Must(at => at is null || at.Value.ToUniversalTime() <= clock.GetUtcNow().UtcDateTime + AllowedClockSkew)
            .WithMessage("{PropertyName} must not be in the future.")
            .Must(at => at is null || at.Value.ToUniversalTime().Year >= 2000)
            .WithMessage("{PropertyName} must be after 2000-01-01.");

    public static IRuleBuilderOptions<T, IReadOnlyList<TRecord>?> ValidBatch<T, TRecord>(this IRuleBuilder<T, IReadOnlyList<TRecord>?> rule) =>
        rule.NotNull().WithMessage("{PropertyName} is required.")
            .Must(list => list is null || list.Count is > 0 and <= Limits.MaxBatchSize)
            .WithMessage($"{{PropertyName}} must hold between 1 and {Limits.MaxBatchSize:N0} records.");

    public static DateTime ToUtc(DateTime? at, DateTime fallbackUtc) => at?.ToUniversalTime() ?? fallbackUtc;

    /// <summary>Maps the shop's item ids to ours; unknown ones come back as failures naming "{collection}[i].{field}".</summary>
    public static async Task<Dictionary<string, long>> ResolveItemsAsync(
        DiscountsDbContext db, IReadOnlyList<string?> itemIds, string collection, string field, List<ValidationFailure> failures,
        CancellationToken cancellationToken)
    {
        var wanted = itemIds.OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        var known = await db.Items.AsNoTracking().Where(i => wanted.Contains(i.ExternalId))
            .Select(i => new { i.ExternalId, i.Id }).ToDictionaryAsync(i => i.ExternalId, i => i.Id, StringComparer.Ordinal, cancellationToken);
        for (var i = 0; i < itemIds.Count; i++)
        {
            if (itemIds[i] is { } id && !known.ContainsKey(id))
            {
                failures.Add(new ValidationFailure($"{collection}[{i}].{field}", $"Item '{id}' is unknown; send it to PUT /api/items/{{id}} first."));
            }
        }

        return known;
    }

    /// <summary>
    /// Maps the shop's user ids to ours, creating users never seen before: shops send behaviour before (or without)
    /// user records. Created users have given no consent until the shop says otherwise with PUT /api/users/{id}.
    /// </summary>
    public static async Task<(Dictionary<string, long> Ids, int Created)> EnsureUsersAsync(
        DiscountsDbContext db, IEnumerable<string> userIds, DateTime nowUtc, CancellationToken cancellationToken)
    {
        var wanted = userIds.Distinct(StringComparer.Ordinal).ToList();
        var known = await db.Users.AsNoTracking().Where(u => wanted.Contains(u.ExternalId))
            .Select(u => new { u.ExternalId, u.Id }).ToDictionaryAsync(u => u.ExternalId, u => u.Id, StringComparer.Ordinal, cancellationToken);
        var created = wanted.Where(id => !known.ContainsKey(id))
            .Select(id => new User { ExternalId = id, CreatedAt = nowUtc, UpdatedAt = nowUtc })
            .ToList();
        if (created.Count > 0)
        {
            db.Users.AddRange(created);
            await db.SaveChangesAsync(cancellationToken);
            foreach (var user in created)
            {
                known[user.ExternalId] = user.Id;
            }
        }

        return (known, created.Count);
    }

    public static void ThrowIfAny(List<ValidationFailure> failures)
    {
        if (failures.Count > 0)
        {
            throw new ValidationException(failures.Take(MaxReportedErrors));
        }
    }
}
