using System.Collections.Concurrent;
using System.Data.Common;
using Discounts.Core.Data;
using Discounts.Core.Domain;
using Discounts.Web.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Npgsql;
using NpgsqlTypes;

namespace Discounts.Web.Features.Recommendations;

/// <summary>One list as it was served, stored as one <see cref="RecommendationList"/> row; each of its items is one impression.</summary>
public sealed record ServedList(string RecommendationId, long UserId, string ModelVersion, string BlendVersion, DateTime ShownAt, ShownItems Items);

/// <summary>
/// Recommendation impressions are written in batches off the request path, so a list costs no database write while
/// it is served. Anything that reads impressions (attributing an event, the outcome report) flushes first.
/// </summary>
/// <remarks>
/// A busy shop serves thousands of lists a second. Through EF's change tracker each row cost tens of microseconds and a
/// tracked object, which on two cores took CPU and garbage-collection pauses from the requests being served; so
/// batches are written with one prepared statement (SQLite) or one array-parameter statement (PostgreSQL). A request
/// queues one small object whose encoded items are the cached list's own: objects that live for the 250 ms until the
/// next write outlive the young generation. Lists of a user erased since they were served are skipped by the
/// statement itself, so an erasure never fails a batch.
/// </remarks>
public sealed partial class ImpressionLog(IServiceScopeFactory scopes, DiscountsMetrics metrics, ILogger<ImpressionLog> logger) : BackgroundService
{
    /// <summary>While the database cannot be written, impressions beyond this many are dropped (and counted), not kept until memory runs out.</summary>
    public const int MaxPending = 1_000_000;

    private const int MaxBatchLists = 10_000;

    private readonly ConcurrentQueue<ServedList> pending = new();
    private readonly SemaphoreSlim writing = new(1, 1);
    private readonly System.Diagnostics.Metrics.Counter<long> written = metrics.Meter.CreateCounter<long>(
        "discounts.recommendations.impressions.written", "{impression}", "Recommendation impressions written to the database");
    private readonly System.Diagnostics.Metrics.Counter<long> dropped = metrics.Meter.CreateCounter<long>(
        "discounts.recommendations.impressions.dropped", "{impression}", "Impressions dropped because the queue was full while the database could not be written");
    private int pendingCount;

    public void Add(ServedList list)
    {
        if (Interlocked.Add(ref pendingCount, list.Items.Count) > MaxPending)
        {
            Interlocked.Add(ref pendingCount, -list.Items.Count);
            dropped.Add(list.Items.Count);
            return;
        }

        pending.Enqueue(list);
    }

    /// <summary>Writes everything queued so far.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        await writing.WaitAsync(cancellationToken);
        try
        {
            while (!pending.IsEmpty)
            {
                var batch = new List<ServedList>();
                var shown = 0;
                while (batch.Count < MaxBatchLists && pending.TryDequeue(out var list))
                {
                    batch.Add(list);
                    shown += list.Items.Count;
                }

                try
                {
                    await using var scope = scopes.CreateAsyncScope();
                    await WriteAsync(scope.ServiceProvider.GetRequiredService<DiscountsDbContext>(), batch);
                    written.Add(shown);
                }
                finally
                {
                    Interlocked.Add(ref pendingCount, -shown);
                }
            }
        }
        finally
        {
            writing.Release();
        }
    }

    /// <summary>
    /// The writer runs on its own thread. SQLite's calls block (its async API is synchronous), and a flush at thousands of
    /// requests a second writes tens of thousands of rows and waits for the commit's fsync: on the thread pool that
    /// took a pool thread for much of every 250 ms, and after a burst of cheap requests had shrunk the pool, cached
    /// requests queued behind it for seconds (p99 290–760 ms against 14 ms with the pool held at 16 threads).
    /// </summary>
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(() => WriteUntilStopped(stoppingToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void WriteUntilStopped(CancellationToken stoppingToken)
    {
        while (!stoppingToken.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(250)))
        {
            try
            {
                FlushAsync(stoppingToken).GetAwaiter().GetResult();
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (Exception error)
            {
                LogWriteFailed(logger, error);
            }
        }

        FlushAsync(CancellationToken.None).GetAwaiter().GetResult();
    }

    private static async Task WriteAsync(DiscountsDbContext db, List<ServedList> batch)
    {
        var names = TableNames.Of(db.Model);
        await db.Database.OpenConnectionAsync(CancellationToken.None);
        try
        {
            var connection = db.Database.GetDbConnection();
            if (connection is NpgsqlConnection postgres)
            {
                await WritePostgresAsync(postgres, names, batch);
            }
            else
            {
                await WriteRowByRowAsync(connection, names, batch);
            }
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    /// <summary>One transaction, one prepared statement run per list: SQLite's fastest insert short of its C API.</summary>
    private static async Task WriteRowByRowAsync(DbConnection connection, TableNames names, List<ServedList> batch)
    {
        await using var transaction = await connection.BeginTransactionAsync(CancellationToken.None);
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText =
            $"INSERT INTO {names.Lists} ({names.Columns}) SELECT $r, $u, $m, $b, $n, $i, $t WHERE EXISTS (SELECT 1 FROM {names.Users} WHERE {names.UserKey} = $u)";
        var parameters = new[] { "$r", "$u", "$m", "$b", "$n", "$i", "$t" }.Select(name =>
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            command.Parameters.Add(parameter);
            return parameter;
        }).ToArray();
        await command.PrepareAsync(CancellationToken.None);
        foreach (var list in batch)
        {
            parameters[0].Value = list.RecommendationId;
            parameters[1].Value = list.UserId;
            parameters[2].Value = list.ModelVersion;
            parameters[3].Value = list.BlendVersion;
            parameters[4].Value = list.Items.Count;
            parameters[5].Value = list.Items.Json;
            parameters[6].Value = list.ShownAt;
            await command.ExecuteNonQueryAsync(CancellationToken.None);
        }

        await transaction.CommitAsync(CancellationToken.None);
    }

    /// <summary>One statement for the whole batch: each column travels as one array and unnest turns them back into rows.</summary>
    private static async Task WritePostgresAsync(NpgsqlConnection connection, TableNames names, List<ServedList> batch)
    {
        await using var command = connection.CreateCommand();
        command.CommandText =
            $"INSERT INTO {names.Lists} ({names.Columns}) SELECT t.* FROM unnest(@r, @u, @m, @b, @n, @i, @t) "
            + "AS t(r, u, m, b, n, i, t) "
            + $"WHERE EXISTS (SELECT 1 FROM {names.Users} WHERE {names.UserKey} = t.u)";
        command.Parameters.Add(new NpgsqlParameter("r", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = batch.Select(l => l.RecommendationId).ToArray() });
        command.Parameters.Add(new NpgsqlParameter("u", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = batch.Select(l => l.UserId).ToArray() });
        command.Parameters.Add(new NpgsqlParameter("m", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = batch.Select(l => l.ModelVersion).ToArray() });
        command.Parameters.Add(new NpgsqlParameter("b", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = batch.Select(l => l.BlendVersion).ToArray() });
        command.Parameters.Add(new NpgsqlParameter("n", NpgsqlDbType.Array | NpgsqlDbType.Integer) { Value = batch.Select(l => l.Items.Count).ToArray() });
        command.Parameters.Add(new NpgsqlParameter("i", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = batch.Select(l => l.Items.Json).ToArray() });
        command.Parameters.Add(new NpgsqlParameter("t", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz) { Value = batch.Select(l => l.ShownAt).ToArray() });
        await command.ExecuteNonQueryAsync(CancellationToken.None);
    }

    /// <summary>The quoted names the insert uses, from the EF model.</summary>
    private sealed record TableNames(string Lists, string Columns, string Users, string UserKey)
    {
        private static TableNames? cached;

        public static TableNames Of(IModel model) => cached ??= Build(model);

        private static TableNames Build(IModel model)
        {
            string[] properties =
            [
                nameof(RecommendationList.RecommendationId), nameof(RecommendationList.UserId), nameof(RecommendationList.ModelVersion),
                nameof(RecommendationList.BlendVersion), nameof(RecommendationList.ItemCount), nameof(RecommendationList.Items),
                nameof(RecommendationList.CreatedAt),
            ];
            return new TableNames(
                StoreNames.Table<RecommendationList>(model),
                string.Join(", ", properties.Select(p => StoreNames.Column<RecommendationList>(model, p))),
                StoreNames.Table<User>(model),
                StoreNames.Column<User>(model, nameof(User.Id)));
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Writing recommendation impressions failed")]
    private static partial void LogWriteFailed(ILogger logger, Exception error);
}
