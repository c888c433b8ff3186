using Npgsql;

namespace Discounts.Tests;

/// <summary>
/// Throwaway databases on the PostgreSQL server named by <c>DISCOUNTS_TEST_POSTGRES</c> (a connection string with a
/// user allowed to create databases; .ci/run starts one). With <c>DISCOUNTS_TEST_PROVIDER=Postgres</c> the shared
/// <see cref="TestHost"/> runs on one of them instead of SQLite, so the API tests cover both providers.
/// </summary>
public static class PostgresTestDatabase
{
    public const string ServerVariable = "DISCOUNTS_TEST_POSTGRES";
    public const string ProviderVariable = "DISCOUNTS_TEST_PROVIDER";

    public static string? Server => Environment.GetEnvironmentVariable(ServerVariable) is { Length: > 0 } server ? server : null;

    public static bool TestHostUsesPostgres =>
        string.Equals(Environment.GetEnvironmentVariable(ProviderVariable), "Postgres", StringComparison.OrdinalIgnoreCase);

    /// <summary>Skips the calling test (or fixture) when no server is configured, saying how to get one.</summary>
    public static string RequireServer() => Server ?? throw new IgnoreException(
        $"{ServerVariable} is not set, so the PostgreSQL tests are skipped: run .ci/run, which starts a throwaway PostgreSQL, " +
        $"or export {ServerVariable}=\"Host=127.0.0.1;Port=5432;Username=postgres\" for a server where that user may create databases.");

    /// <summary>Creates an empty database and returns its connection string.</summary>
    public static string Create(string prefix)
    {
        var server = RequireServer();
        var name = $"{prefix}_{Guid.NewGuid():N}";
        using (var connection = new NpgsqlConnection(server))
        {
            connection.Open();
            using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            command.ExecuteNonQuery();
        }

        return new NpgsqlConnectionStringBuilder(server) { Database = name }.ConnectionString;
    }

    /// <summary>Drops a database made by <see cref="Create"/>, closing whatever still holds it open.</summary>
    public static void Drop(string connectionString)
    {
        var name = new NpgsqlConnectionStringBuilder(connectionString).Database;
        NpgsqlConnection.ClearAllPools();
        using var connection = new NpgsqlConnection(Server);
        connection.Open();
        using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
        command.ExecuteNonQuery();
    }
}
