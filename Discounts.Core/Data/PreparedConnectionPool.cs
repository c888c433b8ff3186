using System.Collections.Concurrent;
using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Discounts.Core.Data;

/// <summary>
/// A few kept-open connections, each with a request path's statements already prepared on it. Through EF every read
/// cost a context, a pooled connection opened and its functions registered, and the SQL prepared anew: on the hot
/// paths that was most of a request's CPU.
/// </summary>
/// <typeparam name="TPrepared">One connection and its prepared statements; used by one request at a time.</typeparam>
public sealed class PreparedConnectionPool<TPrepared> : IDisposable
    where TPrepared : class, IDisposable
{
    /// <summary>Idle connections kept beyond this many are closed; a burst opens more and lets them go after.</summary>
    private const int MaxIdle = 8;

    private readonly ConcurrentBag<TPrepared> idle = [];
    private readonly string connectionString;
    private readonly bool postgres;
    private readonly Func<DbConnection, TPrepared> prepare;
    private int idleCount;

    /// <param name="prepare">Prepares the statements on an open connection; <paramref name="model"/> names the tables and columns.</param>
    public PreparedConnectionPool(IServiceScopeFactory scopes, Func<Microsoft.EntityFrameworkCore.Metadata.IModel, Func<DbConnection, TPrepared>> prepare)
    {
        using var scope = scopes.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<DiscountsDbContext>();
        connectionString = db.Database.GetConnectionString() ?? throw new InvalidOperationException("The database has no connection string.");
        postgres = db is PostgresDiscountsDbContext;
        this.prepare = prepare(db.Model);
    }

    public async Task<T> ReadAsync<T>(Func<TPrepared, Task<T>> read)
    {
        for (var attempt = 0; ; attempt++)
        {
            var prepared = Rent();
            try
            {
                var result = await read(prepared);
                Return(prepared);
                return result;
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

    /// <summary>A parameterised command prepared on <paramref name="connection"/>, its parameters named as given.</summary>
    public static DbCommand Prepare(DbConnection connection, string text, params (string Name, object Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = text;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value;
            command.Parameters.Add(parameter);
        }

        command.Prepare();
        return command;
    }

    private TPrepared Rent()
    {
        if (idle.TryTake(out var prepared))
        {
            Interlocked.Decrement(ref idleCount);
            return prepared;
        }

        DbConnection connection = postgres ? new NpgsqlConnection(connectionString) : new SqliteConnection(connectionString);
        try
        {
            connection.Open();
            if (connection is SqliteConnection)
            {
                // Pages read through a memory map rather than a read() call and a copy each: the background writers
                // commit several times a second, and each commit empties every connection's own page cache.
                using var mmap = connection.CreateCommand();
                mmap.CommandText = "PRAGMA mmap_size = 268435456";
                mmap.ExecuteNonQuery();
            }

            return prepare(connection);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private void Return(TPrepared prepared)
    {
        if (Interlocked.Increment(ref idleCount) > MaxIdle)
        {
            Interlocked.Decrement(ref idleCount);
            prepared.Dispose();
            return;
        }

        idle.Add(prepared);
    }
}
