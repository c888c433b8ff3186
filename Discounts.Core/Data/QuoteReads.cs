using System.Data.Common;
using Discounts.Core.Domain;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.Extensions.DependencyInjection;

namespace Discounts.Core.Data;

/// <summary>
/// What a quote reads of the user: consent, the stored profile, today's discounted offers, and the stamp its cached
/// history is checked against (how many events and texts, and the newest of each).
/// </summary>
public sealed record QuoteUser(
    long Id, string ExternalId, bool ConsentsToPersonalisation, int? ProfileVersion, string ProfileText, long DiscountsToday, HistoryStamp History);

/// <summary>Changes whenever the user's events or texts do.</summary>
public readonly record struct HistoryStamp(long Events, long? LastEventId, long Texts, long? LastTextId);

public sealed record QuoteItem(long Id, string ExternalId, string Category, long PriceCents, long CostCents);

public sealed record QuoteCampaign(long Id, string ExternalId, long BudgetCents, long SpentCents);

/// <summary>
/// The reads of a quote on kept-open connections with their statements prepared: through EF the quote's six queries
/// cost a context and a connection each, and their planning, on every request.
/// </summary>
public sealed class QuoteReads(IServiceScopeFactory scopes) : IDisposable
{
    private readonly PreparedConnectionPool<Prepared> pool = new(scopes, model =>
    {
        var sql = Statements.For(model);
        return connection => new Prepared(connection, sql);
    });

    /// <summary>The user, or null when the shop has none with this id; discounts are counted from <paramref name="dayStart"/>.</summary>
    public Task<QuoteUser?> UserAsync(string externalId, DateTime dayStart, CancellationToken cancellationToken) =>
        pool.ReadAsync(prepared => prepared.UserAsync(externalId, dayStart, cancellationToken));

    /// <summary>The items the shop has among <paramref name="externalIds"/>, by their ids.</summary>
    public Task<Dictionary<string, QuoteItem>> ItemsAsync(IReadOnlyList<string> externalIds, CancellationToken cancellationToken) =>
        pool.ReadAsync(prepared => prepared.ItemsAsync(externalIds, cancellationToken));

    /// <summary>The active campaign with this id, or the oldest active one when <paramref name="externalId"/> is null.</summary>
    public Task<QuoteCampaign?> ActiveCampaignAsync(string? externalId, DateTime now, CancellationToken cancellationToken) =>
        pool.ReadAsync(prepared => prepared.CampaignAsync(externalId, now, cancellationToken));

    public void Dispose() => pool.Dispose();

    private sealed record Statements(string ReadUser, string ReadItem, string ReadCampaignById, string ReadFirstCampaign)
    {
        public static Statements For(IModel model)
        {
            string Table<T>() => StoreNames.Table<T>(model);
            string Column<T>(string property) => StoreNames.Column<T>(model, property);

            var userId = Column<User>(nameof(User.Id));
            var eventUser = Column<InteractionEvent>(nameof(InteractionEvent.UserId));
            var textUser = Column<UserText>(nameof(UserText.UserId));
            var events = Table<InteractionEvent>();
            var texts = Table<UserText>();
            var active =
                $"FROM {Table<Campaign>()} WHERE {Column<Campaign>(nameof(Campaign.IsActive))} AND {Column<Campaign>(nameof(Campaign.StartsAt))} <= @now "
                + $"AND ({Column<Campaign>(nameof(Campaign.EndsAt))} IS NULL OR {Column<Campaign>(nameof(Campaign.EndsAt))} > @now)";
            var campaignColumns = string.Join(", ", new[] { nameof(Campaign.Id), nameof(Campaign.ExternalId), nameof(Campaign.BudgetCents), nameof(Campaign.SpentCents) }
                .Select(Column<Campaign>));
            return new Statements(
                $"SELECT u.{userId}, u.{Column<User>(nameof(User.ExternalId))}, u.{Column<User>(nameof(User.ConsentPersonalisation))}, "
                + $"p.{Column<UserProfile>(nameof(UserProfile.Version))}, p.{Column<UserProfile>(nameof(UserProfile.ProfileText))}, "
                + $"(SELECT COUNT(*) FROM {Table<Offer>()} o WHERE o.{Column<Offer>(nameof(Offer.UserId))} = u.{userId} "
                + $"AND o.{Column<Offer>(nameof(Offer.DiscountPercent))} > 0 AND o.{Column<Offer>(nameof(Offer.CreatedAt))} >= @since), "
                + $"(SELECT COUNT(*) FROM {events} e WHERE e.{eventUser} = u.{userId}), "
                + $"(SELECT MAX(e.{Column<InteractionEvent>(nameof(InteractionEvent.Id))}) FROM {events} e WHERE e.{eventUser} = u.{userId}), "
                + $"(SELECT COUNT(*) FROM {texts} t WHERE t.{textUser} = u.{userId}), "
                + $"(SELECT MAX(t.{Column<UserText>(nameof(UserText.Id))}) FROM {texts} t WHERE t.{textUser} = u.{userId}) "
                + $"FROM {Table<User>()} u LEFT JOIN {Table<UserProfile>()} p ON p.{Column<UserProfile>(nameof(UserProfile.UserId))} = u.{userId} "
                + $"WHERE u.{Column<User>(nameof(User.ExternalId))} = @key LIMIT 1",
                $"SELECT {string.Join(", ", new[] { nameof(Item.Id), nameof(Item.ExternalId), nameof(Item.Category), nameof(Item.PriceCents), nameof(Item.CostCents) }.Select(Column<Item>))} "
                + $"FROM {Table<Item>()} WHERE {Column<Item>(nameof(Item.ExternalId))} = @key LIMIT 1",
                $"SELECT {campaignColumns} {active} AND {Column<Campaign>(nameof(Campaign.ExternalId))} = @key LIMIT 1",
                $"SELECT {campaignColumns} {active} ORDER BY {Column<Campaign>(nameof(Campaign.Id))} LIMIT 1");
        }
    }

    /// <summary>One open connection with the statements prepared on it; used by one request at a time.</summary>
    private sealed class Prepared(DbConnection connection, Statements sql) : IDisposable
    {
        private readonly DbCommand user = PreparedConnectionPool<Prepared>.Prepare(connection, sql.ReadUser, ("@key", ""), ("@since", DateTime.UnixEpoch));
        private readonly DbCommand item = PreparedConnectionPool<Prepared>.Prepare(connection, sql.ReadItem, ("@key", ""));
        private readonly DbCommand campaignById = PreparedConnectionPool<Prepared>.Prepare(connection, sql.ReadCampaignById, ("@key", ""), ("@now", DateTime.UnixEpoch));
        private readonly DbCommand firstCampaign = PreparedConnectionPool<Prepared>.Prepare(connection, sql.ReadFirstCampaign, ("@now", DateTime.UnixEpoch));

        // Every reader is disposed before the connection goes back: an open one would hold SQLite's read snapshot.
        public async Task<QuoteUser?> UserAsync(string externalId, DateTime dayStart, CancellationToken cancellationToken)
        {
            user.Parameters[0].Value = externalId;
            user.Parameters[1].Value = dayStart;
            await using var reader = await user.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken)) return null;
            long? Nullable(int column) => reader.IsDBNull(column) ? null : reader.GetInt64(column);
            return new QuoteUser(
                reader.GetInt64(0), reader.GetString(1), reader.GetBoolean(2), reader.IsDBNull(3) ? null : reader.GetInt32(3),
                reader.IsDBNull(4) ? "" : reader.GetString(4), reader.GetInt64(5),
                new HistoryStamp(reader.GetInt64(6), Nullable(7), reader.GetInt64(8), Nullable(9)));
        }

        public async Task<Dictionary<string, QuoteItem>> ItemsAsync(IReadOnlyList<string> externalIds, CancellationToken cancellationToken)
        {
            var found = new Dictionary<string, QuoteItem>(externalIds.Count, StringComparer.Ordinal);
            foreach (var externalId in externalIds)
            {
                item.Parameters[0].Value = externalId;
                await using var reader = await item.ExecuteReaderAsync(cancellationToken);
                if (await reader.ReadAsync(cancellationToken))
                {
                    found[externalId] = new QuoteItem(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3), reader.GetInt64(4));
                }
            }

            return found;
        }

        public async Task<QuoteCampaign?> CampaignAsync(string? externalId, DateTime now, CancellationToken cancellationToken)
        {
            var command = externalId is null ? firstCampaign : campaignById;
            command.Parameters[^1].Value = now;
            if (externalId is not null) command.Parameters[0].Value = externalId;
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken)
                ? new QuoteCampaign(reader.GetInt64(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3))
                : null;
        }

        public void Dispose()
        {
            user.Dispose();
            item.Dispose();
            campaignById.Dispose();
            firstCampaign.Dispose();
            connection.Dispose();
        }
    }
}
