using System.ComponentModel.DataAnnotations;
using Discounts.Core.Data;
using Discounts.Core.Domain;
using Discounts.Training.Serving;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Discounts.Web.Infrastructure;

/// <summary>What one host process does; a deployment mixes nodes with different roles over one PostgreSQL.</summary>
[Flags]
public enum NodeRoles
{
    None = 0,
    /// <summary>Serves the HTTP API. Nodes without it answer only /health/* and /metrics.</summary>
    Web = 1,
    /// <summary>Runs a Hangfire server on the default queue: profile, uplift and other light jobs.</summary>
    Worker = 2,
    /// <summary>Runs the one Hangfire server on the training queue: put these on the GPU machines.</summary>
    Training = 4,
    All = Web | Worker | Training,
}

/// <summary>Configuration section <c>Node</c>.</summary>
public sealed class NodeOptions
{
    public const string Section = "Node";

    /// <summary>This node's name in heartbeats and Hangfire; empty means machine name and process id.</summary>
    [MaxLength(Limits.ExternalIdLength)]
    public string? Id { get; set; }

    /// <summary>Any combination of web, worker and training, comma-separated; empty means all three.</summary>
    public string? Roles { get; set; }

    /// <summary>How often the node reads the model registry (and swaps in a newly activated version) and heartbeats.</summary>
    [Range(0.2, 300)]
    public double PollSeconds { get; set; } = 3;

    /// <summary>
    /// Read at registration, since roles decide which Hangfire servers and endpoints exist; so they come from
    /// appsettings, the environment (<c>Node__Roles</c>) or the command line, not from configuration added later.
    /// </summary>
    public static NodeRoles RolesFrom(IConfiguration configuration) => Parse(configuration[$"{Section}:{nameof(Roles)}"]);

    public static NodeRoles Parse(string? roles)
    {
        if (string.IsNullOrWhiteSpace(roles)) return NodeRoles.All;
        var parsed = NodeRoles.None;
        foreach (var part in roles.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            parsed |= part.ToLowerInvariant() switch
            {
                "web" => NodeRoles.Web,
                "worker" => NodeRoles.Worker,
                "training" => NodeRoles.Training,
                _ => throw new OptionsValidationException(Section, typeof(NodeOptions),
                    [$"Node:Roles: '{part}' is not a role; use web, worker and training, comma-separated."]),
            };
        }

        return parsed == NodeRoles.None ? NodeRoles.All : parsed;
    }

    public static string Format(NodeRoles roles) => string.Join(',',
        new[] { (NodeRoles.Web, "web"), (NodeRoles.Worker, "worker"), (NodeRoles.Training, "training") }
            .Where(r => roles.HasFlag(r.Item1)).Select(r => r.Item2));
}

/// <summary>This process's node id and roles, fixed for its lifetime.</summary>
public sealed class NodeIdentity(IOptions<NodeOptions> options, NodeRoles roles)
{
    public string Id { get; } = string.IsNullOrWhiteSpace(options.Value.Id) ? $"{Environment.MachineName}:{Environment.ProcessId}" : options.Value.Id;

    public NodeRoles Roles { get; } = roles;
}

public static class NodesSetup
{
    public static IServiceCollection AddDiscountsNodes(this IServiceCollection services, IConfiguration configuration)
    {
        var roles = NodeOptions.RolesFrom(configuration);
        services.AddOptions<NodeOptions>().Bind(configuration.GetSection(NodeOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(sp => new NodeIdentity(sp.GetRequiredService<IOptions<NodeOptions>>(), roles));
        services.AddHostedService<NodeMonitor>();
        return services;
    }
}

/// <summary>
/// Every few seconds: swaps in the registry's active scorer when another node activated a new one (through the same
/// checksum-checked path as an activation here), then records this node's roles and loaded version in its heartbeat.
/// </summary>
internal sealed partial class NodeMonitor(
    IServiceScopeFactory scopes,
    NodeIdentity node,
    ScorerHost scorer,
    IOptions<NodeOptions> options,
    TimeProvider clock,
    ILogger<NodeMonitor> logger) : BackgroundService
{
    private readonly DateTime startedAt = clock.GetUtcNow().UtcDateTime;
    private readonly HashSet<string> refused = new(StringComparer.Ordinal);
    private string? lastRefusal;
    private bool pruned;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.PollSeconds), clock);
        do
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                await FollowRegistryAsync(scope.ServiceProvider, stoppingToken);
                await HeartbeatAsync(scope.ServiceProvider.GetRequiredService<DiscountsDbContext>(), stoppingToken);
            }
            catch (Exception error) when (error is not OperationCanceledException)
            {
                // The database may be restarting or not migrated yet; the next tick tries again.
                LogTickFailed(logger, error.GetType().Name);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private async Task FollowRegistryAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        try
        {
            var swapped = await services.GetRequiredService<ScorerActivation>().FollowRegistryAsync(refused, cancellationToken);
            if (swapped is not null) LogFollowed(logger, swapped.Name, swapped.ModelVersionId);
        }
        catch (Exception error) when (error is InvalidDataException or IOException or Discounts.Training.Weights.WeightMismatchException)
        {
            // The old snapshot keeps serving; the warning is logged once per refused file, not every tick.
            if (error.Message != lastRefusal) LogRefused(logger, error.Message);
            lastRefusal = error.Message;
        }
    }

    private async Task HeartbeatAsync(DiscountsDbContext db, CancellationToken cancellationToken)
    {
        var loaded = scorer.ActiveVersion;
        var row = await db.NodeHeartbeats.SingleOrDefaultAsync(n => n.NodeId == node.Id, cancellationToken);
        if (row is null)
        {
            row = new NodeHeartbeat { NodeId = node.Id, Roles = NodeOptions.Format(node.Roles), StartedAt = startedAt };
            db.NodeHeartbeats.Add(row);
        }

        row.Roles = NodeOptions.Format(node.Roles);
        row.LoadedModelVersionId = loaded?.ModelVersionId;
        row.LoadedModelName = loaded?.Name;
        row.LoadedSha256 = loaded?.Sha256;
        row.LastSeenAt = clock.GetUtcNow().UtcDateTime;
        await db.SaveChangesAsync(cancellationToken);

        // Nodes named by machine and process id leave a row per restart: drop those unheard from for a week, once per start.
        if (!pruned)
        {
            var stale = row.LastSeenAt - TimeSpan.FromDays(7);
            await db.NodeHeartbeats.Where(n => n.LastSeenAt < stale).ExecuteDeleteAsync(cancellationToken);
            pruned = true;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Followed the registry: scorer {Name} (model version {ModelVersionId}) now serving on this node")]
    private static partial void LogFollowed(ILogger logger, string name, long? modelVersionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The registry's active scorer was refused on this node, which keeps serving its current one: {Reason}")]
    private static partial void LogRefused(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Node heartbeat or registry poll failed ({ErrorType}); retrying next tick")]
    private static partial void LogTickFailed(ILogger logger, string errorType);
}
