using System.Collections.Concurrent;
using Discounts.Core.Data;
using Discounts.Core.Domain;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Discounts.Core.Discounting;

/// <summary>Users' past events (with their items' categories) and texts, the raw material of uplift features.</summary>
public static class UpliftHistory
{
    public static async Task<Dictionary<long, UserHistory>> LoadAsync(DiscountsDbContext db, IReadOnlyCollection<long>? userIds, CancellationToken cancellationToken)
    {
        var events = db.Events.AsNoTracking().Where(e => e.Kind == EventKind.View || e.Kind == EventKind.Purchase || e.Kind == EventKind.OfferShown);
        var texts = db.UserTexts.AsNoTracking();
        if (userIds is not null)
        {
            events = events.Where(e => userIds.Contains(e.UserId));
            texts = texts.Where(t => userIds.Contains(t.UserId));
        }

        var eventRows = await events
            .Select(e => new { e.UserId, e.Kind, e.Item!.Category, e.PriceCents, e.DiscountPercent, e.OccurredAt, e.OfferId })
            .ToListAsync(cancellationToken);
        var textRows = (await texts.Select(t => new { t.UserId, t.Text, t.OccurredAt, t.Kind }).ToListAsync(cancellationToken))
            .ToLookup(t => t.UserId, t => new PastText(t.Text, t.OccurredAt, t.Kind));
        return eventRows.GroupBy(e => e.UserId).ToDictionary(
            g => g.Key,
            g => new UserHistory(
                g.Select(e => new PastEvent(e.Kind, e.Category, e.PriceCents ?? 0, e.DiscountPercent, e.OccurredAt, e.OfferId)).ToList(),
                textRows[g.Key].ToList()));
    }
}

/// <summary>
/// Each user's history as quotes read it, kept until the user's events or texts change (<see cref="HistoryStamp"/>,
/// read with the quote's other reads): loading it was the largest read of a quote, and it changes far less often
/// than it is quoted on. Every node checks the stamp against the shared database, so a change made on another node is
/// seen by the next quote.
/// </summary>
public sealed class UserHistoryCache(IServiceScopeFactory scopes)
{
    /// <summary>Past this many users the cache starts again empty rather than grow without bound.</summary>
    public const int MaxUsers = 200_000;

    private readonly ConcurrentDictionary<long, (HistoryStamp Stamp, UserHistory History)> histories = new();

    public int Count => histories.Count;

    public async Task<UserHistory> GetAsync(long userId, HistoryStamp stamp, CancellationToken cancellationToken)
    {
        if (histories.TryGetValue(userId, out var cached) && cached.Stamp == stamp) return cached.History;
        // The stamp was read first: whatever arrives meanwhile is in the history loaded here, and its newer stamp only
        // causes one more load, never a stale hit.
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<DiscountsDbContext>();
        var history = (await UpliftHistory.LoadAsync(db, [userId], cancellationToken)).GetValueOrDefault(userId) ?? UserHistory.Empty;
        if (histories.Count >= MaxUsers) histories.Clear();
        histories[userId] = (stamp, history);
        return history;
    }
}
