using System.Data.Common;
using Discounts.Core.Domain;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Npgsql;
using NpgsqlTypes;

namespace Discounts.Core.Data;

/// <summary>
/// Writes a batch of served lists with one prepared statement (SQLite) or one array-parameter statement (PostgreSQL):
/// through EF's change tracker each row cost tens of microseconds and a tracked object. Lists of a user erased since
/// they were served are skipped by the statement itself, so an erasure never fails a batch.
/// </summary>
public static class ImpressionWriter
{
    public static async Task WriteAsync(DiscountsDbContext db, List<ServedList> batch)
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
}
