using System.Data.Common;
using Discounts.Core.Domain;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.Extensions.DependencyInjection;

namespace Discounts.Core.Data;

/// <summary>A user's id and the stamps a cached list is checked against.</summary>
public sealed record UserHead(long Id, int? ProfileVersion, long Events, long? LastEventId);

/// <summary>What ranking reads of the stored profile.</summary>
public sealed record UserProfileRow(int Version, string KeywordsJson, string TopicsJson, string ProfileText);

/// <summary>One of the user's interactions, as much as ranking reads.</summary>
public readonly record struct UserEvent(long ItemId, EventKind Kind);

/// <summary>
/// The reads of a recommendation request, on kept-open connections with their statements already prepared. The head
/// (the cache's stamp) is read on every request, cached or not; through EF it was three quarters of the CPU of a cache
/// hit, and a miss's profile and history reads cost the same overhead again.
/// </summary>
public sealed class RankingReads(IServiceScopeFactory scopes) : IDisposable
{
    /// <summary>At most this many of the user's latest interactions are read.</summary>
    public const int MaxHistoryEvents = 1_000;

    private readonly PreparedConnectionPool<Prepared> pool = new(scopes, model =>
    {
        var sql = Statements.For(model);
        return connection => new Prepared(connection, sql);
    });

    /// <summary>The user with this shop id, or null when there is none.</summary>
    public Task<UserHead?> HeadAsync(string externalId, CancellationToken cancellationToken) =>
        pool.ReadAsync(prepared => prepared.HeadAsync(externalId, cancellationToken));

    public Task<UserProfileRow?> ProfileAsync(long userId, CancellationToken cancellationToken) =>
        pool.ReadAsync(prepared => prepared.ProfileAsync(userId, cancellationToken));

    /// <summary>The user's latest views, clicks, carts and purchases, newest first.</summary>
    public Task<List<UserEvent>> HistoryAsync(long userId, CancellationToken cancellationToken) =>
        pool.ReadAsync(prepared => prepared.HistoryAsync(userId, cancellationToken));

    public void Dispose() => pool.Dispose();

    /// <summary>The three statements, with table and column names as the EF model maps them.</summary>
    private sealed record Statements(string Head, string Profile, string History)
    {
        public static Statements For(IModel model)
        {
            string Table<T>() => StoreNames.Table<T>(model);
            string Column<T>(string property) => StoreNames.Column<T>(model, property);

            var (users, profiles, events) = (Table<User>(), Table<UserProfile>(), Table<InteractionEvent>());
            var userId = Column<User>(nameof(User.Id));
            var profileUser = Column<UserProfile>(nameof(UserProfile.UserId));
            var eventUser = Column<InteractionEvent>(nameof(InteractionEvent.UserId));
            var eventId = Column<InteractionEvent>(nameof(InteractionEvent.Id));
            var kind = Column<InteractionEvent>(nameof(InteractionEvent.Kind));
            int[] rankedKinds = [(int)EventKind.View, (int)EventKind.Click, (int)EventKind.Cart, (int)EventKind.Purchase];
            return new Statements(
                $"SELECT u.{userId}, "
                + $"(SELECT p.{Column<UserProfile>(nameof(UserProfile.Version))} FROM {profiles} p WHERE p.{profileUser} = u.{userId} LIMIT 1), "
                + $"(SELECT COUNT(*) FROM {events} e WHERE e.{eventUser} = u.{userId}), "
                + $"(SELECT MAX(e.{eventId}) FROM {events} e WHERE e.{eventUser} = u.{userId}) "
                + $"FROM {users} u WHERE u.{Column<User>(nameof(User.ExternalId))} = @key LIMIT 1",
                $"SELECT {Column<UserProfile>(nameof(UserProfile.Version))}, {Column<UserProfile>(nameof(UserProfile.KeywordsJson))}, "
                + $"{Column<UserProfile>(nameof(UserProfile.TopicsJson))}, {Column<UserProfile>(nameof(UserProfile.ProfileText))} "
                + $"FROM {profiles} WHERE {profileUser} = @key LIMIT 1",
                $"SELECT {Column<InteractionEvent>(nameof(InteractionEvent.ItemId))}, {kind} FROM {events} "
                + $"WHERE {eventUser} = @key AND {kind} IN ({string.Join(", ", rankedKinds)}) "
                + $"ORDER BY {Column<InteractionEvent>(nameof(InteractionEvent.OccurredAt))} DESC LIMIT {MaxHistoryEvents}");
        }
    }

    /// <summary>One open connection with the statements prepared on it; used by one request at a time.</summary>
    private sealed class Prepared(DbConnection connection, Statements sql) : IDisposable
    {
        private readonly DbCommand head = PreparedConnectionPool<Prepared>.Prepare(connection, sql.Head, ("@key", ""));
        private readonly DbCommand profile = PreparedConnectionPool<Prepared>.Prepare(connection, sql.Profile, ("@key", 0L));
        private readonly DbCommand history = PreparedConnectionPool<Prepared>.Prepare(connection, sql.History, ("@key", 0L));

        // Every reader is disposed before the connection goes back: an open one would hold SQLite's read snapshot.
        public async Task<UserHead?> HeadAsync(string externalId, CancellationToken cancellationToken)
        {
            head.Parameters[0].Value = externalId;
            await using var reader = await head.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken)
                ? new UserHead(reader.GetInt64(0), reader.IsDBNull(1) ? null : reader.GetInt32(1), reader.GetInt64(2), reader.IsDBNull(3) ? null : reader.GetInt64(3))
                : null;
        }

        public async Task<UserProfileRow?> ProfileAsync(long userId, CancellationToken cancellationToken)
        {
            profile.Parameters[0].Value = userId;
            await using var reader = await profile.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken)
                ? new UserProfileRow(reader.GetInt32(0), reader.GetString(1), reader.GetString(2), reader.GetString(3))
                : null;
        }

        public async Task<List<UserEvent>> HistoryAsync(long userId, CancellationToken cancellationToken)
        {
            history.Parameters[0].Value = userId;
            await using var reader = await history.ExecuteReaderAsync(cancellationToken);
            var events = new List<UserEvent>();
            while (await reader.ReadAsync(cancellationToken))
            {
                events.Add(new UserEvent(reader.GetInt64(0), (EventKind)reader.GetInt32(1)));
            }

            return events;
        }

        public void Dispose()
        {
            head.Dispose();
            profile.Dispose();
            history.Dispose();
            connection.Dispose();
        }
    }
}
