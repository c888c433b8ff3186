using System.ComponentModel.DataAnnotations;
using Discounts.Core.Data;
using Hangfire;
using Hangfire.PostgreSql;
using Hangfire.Storage.SQLite;
using Microsoft.Extensions.Options;

namespace Discounts.Web.Infrastructure;

public enum JobStorageKind
{
    /// <summary>
    /// Beside the shop's data: a SQLite file next to the shop database (the embedded default), or, with
    /// Storage:Provider=Postgres, the same PostgreSQL database in its own schema.
    /// </summary>
    Sqlite,
    /// <summary>Memory only, for tests.</summary>
    InMemory,
}

public sealed class JobsOptions
{
    public const string Section = "Jobs";

    public JobStorageKind Storage { get; set; } = JobStorageKind.Sqlite;

    /// <summary>Workers for profile, uplift and other light jobs.</summary>
    [Range(1, 64)]
    public int WorkerCount { get; set; } = 2;

    /// <summary>
    /// How often each server moves scheduled jobs that have come due (the debounced profile refresh, retries) onto
    /// their queue; 15 s is Hangfire's own default.
    /// </summary>
    [Range(1, 3_600)]
    public int SchedulePollingSeconds { get; set; } = 15;
}

public static class Queues
{
    public const string Default = "default";
    /// <summary>Only training servers listen here, one job at a time.</summary>
    public const string Training = "training";
}

public static class JobsSetup
{
    public static IServiceCollection AddDiscountsJobs(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<JobsOptions>().Bind(configuration.GetSection(JobsOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddHangfire((sp, hangfire) =>
        {
            hangfire.SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
                .UseSimpleAssemblyNameTypeSerializer()
                .UseRecommendedSerializerSettings();
            var options = sp.GetRequiredService<IOptions<JobsOptions>>().Value;
            var storage = sp.GetRequiredService<IOptions<StorageOptions>>().Value;
            if (options.Storage == JobStorageKind.InMemory)
            {
                hangfire.UseInMemoryStorage();
            }
            else if (storage.Provider == StorageProvider.Postgres)
            {
                hangfire.UsePostgreSqlStorage(postgres => postgres.UseNpgsqlConnection(storage.ConnectionString), new PostgreSqlStorageOptions
                {
                    SchemaName = "hangfire",
                    PrepareSchemaIfNecessary = true,
                    // Idle servers look for new jobs this often; the default of 15 s is slow for "train now".
                    QueuePollInterval = TimeSpan.FromSeconds(1),
                });
            }
            else
            {
                var paths = sp.GetRequiredService<DataPaths>();
                paths.EnsureCreated();
                hangfire.UseSQLiteStorage(paths.HangfireDatabase);
            }
        });
        services.AddSingleton<JobDeduplicator>();
        // Roles are read now, at registration, because they decide which servers exist (see NodeOptions).
        var roles = NodeOptions.RolesFrom(configuration);
        if (roles.HasFlag(NodeRoles.Worker))
        {
            AddServer(services, Queues.Default, options => options.WorkerCount);
        }

        if (roles.HasFlag(NodeRoles.Training))
        {
            AddServer(services, Queues.Training, _ => 1);
        }

        return services;
    }

    /// <summary>One Hangfire server per queue, named after this node so the dashboard shows who runs what.</summary>
    private static void AddServer(IServiceCollection services, string queue, Func<JobsOptions, int> workers) =>
        services.AddHangfireServer((sp, server) =>
        {
            var options = sp.GetRequiredService<IOptions<JobsOptions>>().Value;
            server.ServerName = $"{sp.GetRequiredService<NodeIdentity>().Id}:{queue}";
            server.Queues = [queue];
            server.WorkerCount = workers(options);
            server.SchedulePollingInterval = TimeSpan.FromSeconds(options.SchedulePollingSeconds);
        });

    public static void MapDiscountsDashboard(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapHangfireDashboardWithAuthorizationPolicy(Policies.Science, "/hangfire", new DashboardOptions
        {
            DisplayStorageConnectionString = false,
            DashboardTitle = "Discounts jobs",
            AppPath = "/",
        });
}

/// <summary>
/// Queues a job unless the same kind is still waiting or running, in which case the caller joins that one: a burst of
/// "rebuild now" requests costs one rebuild, not one each.
/// </summary>
public sealed class JobDeduplicator(IBackgroundJobClient jobs, JobStorage storage)
{
    private readonly Dictionary<string, string> pending = new(StringComparer.Ordinal);

    public string EnqueueOnce(string kind, Func<IBackgroundJobClient, string> enqueue)
    {
        lock (pending)
        {
            using var connection = storage.GetConnection();
            if (pending.TryGetValue(kind, out var id) && connection.GetStateData(id)?.Name is "Enqueued" or "Processing" or "Scheduled")
            {
                return id;
            }

            return pending[kind] = enqueue(jobs);
        }
    }
}
