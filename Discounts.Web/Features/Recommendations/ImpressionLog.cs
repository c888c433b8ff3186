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

/// <summary>
/// Recommendation impressions are written in batches off the request path, so a list costs no database write while
/// it is served. Anything that reads impressions (attributing an event, the outcome report) flushes first.
/// </summary>
/// <remarks>
/// A busy shop shows tens of thousands of impressions a second. Through EF's change tracker each row cost tens of
/// microseconds and a tracked object, which on two cores took CPU and garbage-collection pauses from the requests
/// being served; so batches are written with one prepared statement (SQLite) or one array-parameter statement
/// (PostgreSQL). Rows of a user erased since the list was served are skipped by the statement itself, so an erasure
/// never fails a batch.
/// </remarks>
public sealed partial class ImpressionLog(IServiceScopeFactory scopes, DiscountsMetrics metrics, ILogger<ImpressionLog> logger) : BackgroundService
{
    /// <summary>While the database cannot be written, impressions beyond this many are dropped (and counted), not kept until memory runs out.</summary>
    public const int MaxPending = 1_000_000;

    private const int MaxBatch = 50_000;

    private readonly ConcurrentQueue<RecommendationImpression> pending = new();
    private readonly SemaphoreSlim writing = new(1, 1);
    private readonly System.Diagnostics.Metrics.Counter<long> written = metrics.Meter.CreateCounter<long>(
        "discounts.recommendations.impressions.written", "{impression}", "Recommendation impressions written to the database");
    private readonly System.Diagnostics.Metrics.Counter<long> dropped = metrics.Meter.CreateCounter<long>(
        "discounts.recommendations.impressions.dropped", "{impression}", "Impressions dropped because the queue was full while the database could not be written");
    private int pendingCount;

    public void Add(IEnumerable<RecommendationImpression> impressions)
    {
        foreach (var impression in impressions)
        {
            if (Interlocked.Increment(ref pendingCount) > MaxPending)
            {
                Interlocked.Decrement(ref pendingCount);
                dropped.Add(1);
                continue;
            }

            pending.Enqueue(impression);
        }
    }

    /// <summary>Writes everything queued so far.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        await writing.WaitAsync(cancellationToken);
        try
        {
            while (!pending.IsEmpty)
            {
                var batch = new List<RecommendationImpression>(Math.Min(MaxBatch, Volatile.Read(ref pendingCount)));
                while (batch.Count < MaxBatch && pending.TryDequeue(out var impression))
                {
                    batch.Add(impression);
                }

                try
                {
                    await using var scope = scopes.CreateAsyncScope();
                    await WriteAsync(scope.ServiceProvider.GetRequiredService<DiscountsDbContext>(), batch);
                    written.Add(batch.Count);
                }
                finally
                {
                    Interlocked.Add(ref pendingCount, -batch.Count);
                }
            }
        }
        finally
        {
            writing.Release();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250), stoppingToken);
                await FlushAsync(stoppingToken);
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

        await FlushAsync(CancellationToken.None);
    }

    private static async Task WriteAsync(DiscountsDbContext db, List<RecommendationImpression> batch)
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

    /// <summary>One transaction, one prepared statement run per row: SQLite's fastest insert short of its C API.</summary>
    private static async Task WriteRowByRowAsync(DbConnection connection, TableNames names, List<RecommendationImpression> batch)
    {
        await using var transaction = await connection.BeginTransactionAsync(CancellationToken.None);
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText =
            $"INSERT INTO {names.Impressions} ({names.Columns}) SELECT $r, $u, $i, $p, $s, $src, $m, $b, $t WHERE EXISTS (SELECT 1 FROM {names.Users} WHERE {names.UserKey} = $u)";
        var parameters = new[] { "$r", "$u", "$i", "$p", "$s", "$src", "$m", "$b", "$t" }.Select(name =>
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            command.Parameters.Add(parameter);
            return parameter;
        }).ToArray();
        await command.PrepareAsync(CancellationToken.None);
        foreach (var row in batch)
        {
            parameters[0].Value = row.RecommendationId;
            parameters[1].Value = row.UserId;
            parameters[2].Value = row.ItemId;
            parameters[3].Value = row.Position;
            parameters[4].Value = row.Score;
            parameters[5].Value = row.Sources;
            parameters[6].Value = row.ModelVersion;
            parameters[7].Value = row.BlendVersion;
            parameters[8].Value = row.CreatedAt;
            await command.ExecuteNonQueryAsync(CancellationToken.None);
        }

        await transaction.CommitAsync(CancellationToken.None);
    }

    /// <summary>One statement for the whole batch: each column travels as one array and unnest turns them back into rows.</summary>
    private static async Task WritePostgresAsync(NpgsqlConnection connection, TableNames names, List<RecommendationImpression> batch)
    {
        await using var command = connection.CreateCommand();
        command.CommandText =
            $"INSERT INTO {names.Impressions} ({names.Columns}) SELECT t.* FROM unnest(@r, @u, @i, @p, @s, @src, @m, @b, @t) "
            + "AS t(r, u, i, p, s, src, m, b, t) "
            + $"WHERE EXISTS (SELECT 1 FROM {names.Users} WHERE {names.UserKey} = t.u)";
        command.Parameters.Add(new NpgsqlParameter("r", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = batch.Select(r => r.RecommendationId).ToArray() });
        command.Parameters.Add(new NpgsqlParameter("u", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = batch.Select(r => r.UserId).ToArray() });
        command.Parameters.Add(new NpgsqlParameter("i", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = batch.Select(r => r.ItemId).ToArray() });
        command.Parameters.Add(new NpgsqlParameter("p", NpgsqlDbType.Array | NpgsqlDbType.Integer) { Value = batch.Select(r => r.Position).ToArray() });
        command.Parameters.Add(new NpgsqlParameter("s", NpgsqlDbType.Array | NpgsqlDbType.Double) { Value = batch.Select(r => r.Score).ToArray() });
        command.Parameters.Add(new NpgsqlParameter("src", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = batch.Select(r => r.Sources).ToArray() });
        command.Parameters.Add(new NpgsqlParameter("m", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = batch.Select(r => r.ModelVersion).ToArray() });
        command.Parameters.Add(new NpgsqlParameter("b", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = batch.Select(r => r.BlendVersion).ToArray() });
        command.Parameters.Add(new NpgsqlParameter("t", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz) { Value = batch.Select(r => r.CreatedAt).ToArray() });
        await command.ExecuteNonQueryAsync(CancellationToken.None);
    }

    /// <summary>Quoted table and column names as the EF model maps them, so a renamed property cannot silently write the wrong column.</summary>
    private sealed record TableNames(string Impressions, string Columns, string Users, string UserKey)
    {
        private static TableNames? cached;

        public static TableNames Of(IModel model) => cached ??= Build(model);

        private static TableNames Build(IModel model)
        {
            var impression = model.FindEntityType(typeof(RecommendationImpression))!;
            var user = model.FindEntityType(typeof(User))!;
            var impressionTable = StoreObjectIdentifier.Table(impression.GetTableName()!, impression.GetSchema());
            var userTable = StoreObjectIdentifier.Table(user.GetTableName()!, user.GetSchema());
            string Column(IEntityType entity, StoreObjectIdentifier table, string property) => Quote(entity.FindProperty(property)!.GetColumnName(table)!);
            string[] properties =
            [
                nameof(RecommendationImpression.RecommendationId), nameof(RecommendationImpression.UserId), nameof(RecommendationImpression.ItemId),
                nameof(RecommendationImpression.Position), nameof(RecommendationImpression.Score), nameof(RecommendationImpression.Sources),
                nameof(RecommendationImpression.ModelVersion), nameof(RecommendationImpression.BlendVersion), nameof(RecommendationImpression.CreatedAt),
            ];
            return new TableNames(
                Quote(impression.GetTableName()!),
                string.Join(", ", properties.Select(p => Column(impression, impressionTable, p))),
                Quote(user.GetTableName()!),
                Column(user, userTable, nameof(User.Id)));
        }

        private static string Quote(string name) => "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Writing recommendation impressions failed")]
    private static partial void LogWriteFailed(ILogger logger, Exception error);
}
