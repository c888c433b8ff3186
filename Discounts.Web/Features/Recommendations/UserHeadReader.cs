using System.Collections.Concurrent;
using System.Data.Common;
using Discounts.Core.Data;
using Discounts.Core.Domain;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Npgsql;

namespace Discounts.Web.Features.Recommendations;

/// <summary>A user's id and the stamps a cached list is checked against.</summary>
public sealed record UserHead(long Id, int? ProfileVersion, long Events, long? LastEventId);

/// <summary>
/// Reads <see cref="UserHead"/> in one statement on a few kept-open connections with the statement already prepared.
/// This read runs on every recommendation request, cached or not, and through EF (a context, a pooled connection
/// opened and its functions registered, the SQL prepared anew) it was three quarters of the CPU of a cache hit.
/// </summary>
public sealed class UserHeadReader : IDisposable
{
    /// <summary>Idle connections kept beyond this many are closed; a burst opens more and lets them go after.</summary>
    private const int MaxIdle = 8;

    private readonly ConcurrentBag<Prepared> idle = [];
    private readonly string connectionString;
    private readonly bool postgres;
    private readonly string sql;
    private int idleCount;

    public UserHeadReader(IServiceScopeFactory scopes)
    {
        using var scope = scopes.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<DiscountsDbContext>();
        connectionString = db.Database.GetConnectionString() ?? throw new InvalidOperationException("The database has no connection string.");
        postgres = db is PostgresDiscountsDbContext;
        sql = HeadSql(db.Model);
    }

    /// <summary>The user with this shop id, or null when there is none.</summary>
    public async Task<UserHead?> ReadAsync(string externalId, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var prepared = Rent();
            try
            {
                var head = await prepared.ReadAsync(externalId, cancellationToken);
                Return(prepared);
                return head;
            }
            catch (DbException) when (attempt == 0)
            {
                // A kept connection the server closed (a restart, an idle timeout): once more on a fresh one.
                prepared.Dispose();
            }
            catch
            {
                prepared.Dispose();
                throw;
            }
        }
    }

    public void Dispose()
    {
        while (idle.TryTake(out var prepared))
        {
            prepared.Dispose();
        }
    }

    private Prepared Rent()
    {
        if (idle.TryTake(out var prepared))
        {
            Interlocked.Decrement(ref idleCount);
            return prepared;
        }

        return Prepared.Open(postgres ? new NpgsqlConnection(connectionString) : new SqliteConnection(connectionString), sql);
    }

    private void Return(Prepared prepared)
    {
        if (Interlocked.Increment(ref idleCount) > MaxIdle)
        {
            Interlocked.Decrement(ref idleCount);
            prepared.Dispose();
            return;
        }

        idle.Add(prepared);
    }

    /// <summary>The head query with table and column names as the EF model maps them.</summary>
    private static string HeadSql(IModel model)
    {
        string Table<T>() => Quote(model.FindEntityType(typeof(T))!.GetTableName()!);
        string Column<T>(string property)
        {
            var entity = model.FindEntityType(typeof(T))!;
            return Quote(entity.FindProperty(property)!.GetColumnName(StoreObjectIdentifier.Table(entity.GetTableName()!, entity.GetSchema()))!);
        }

        var (users, profiles, events) = (Table<User>(), Table<UserProfile>(), Table<InteractionEvent>());
        var userId = Column<User>(nameof(User.Id));
        var eventUser = Column<InteractionEvent>(nameof(InteractionEvent.UserId));
        var eventId = Column<InteractionEvent>(nameof(InteractionEvent.Id));
        return $"SELECT u.{userId}, "
               + $"(SELECT p.{Column<UserProfile>(nameof(UserProfile.Version))} FROM {profiles} p WHERE p.{Column<UserProfile>(nameof(UserProfile.UserId))} = u.{userId} LIMIT 1), "
               + $"(SELECT COUNT(*) FROM {events} e WHERE e.{eventUser} = u.{userId}), "
               + $"(SELECT MAX(e.{eventId}) FROM {events} e WHERE e.{eventUser} = u.{userId}) "
               + $"FROM {users} u WHERE u.{Column<User>(nameof(User.ExternalId))} = @externalId LIMIT 1";
    }

    private static string Quote(string name) => "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    /// <summary>One open connection with the head statement prepared on it; used by one request at a time.</summary>
    private sealed class Prepared : IDisposable
    {
        private readonly DbConnection connection;
        private readonly DbCommand command;
        private readonly DbParameter externalId;

        private Prepared(DbConnection connection, DbCommand command, DbParameter externalId)
        {
            this.connection = connection;
            this.command = command;
            this.externalId = externalId;
        }

        public static Prepared Open(DbConnection connection, string sql)
        {
            try
            {
                connection.Open();
                var command = connection.CreateCommand();
                command.CommandText = sql;
                var parameter = command.CreateParameter();
                parameter.ParameterName = "@externalId";
                parameter.Value = "";
                command.Parameters.Add(parameter);
                command.Prepare();
                return new Prepared(connection, command, parameter);
            }
            catch
            {
                connection.Dispose();
                throw;
            }
        }

        public async Task<UserHead?> ReadAsync(string externalIdValue, CancellationToken cancellationToken)
        {
            externalId.Value = externalIdValue;
            // Disposed before the connection goes back: an open reader would hold SQLite's read snapshot.
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return null;
            }

            return new UserHead(
                reader.GetInt64(0),
                reader.IsDBNull(1) ? null : reader.GetInt32(1),
                reader.GetInt64(2),
                reader.IsDBNull(3) ? null : reader.GetInt64(3));
        }

        public void Dispose()
        {
            command.Dispose();
            connection.Dispose();
        }
    }
}
