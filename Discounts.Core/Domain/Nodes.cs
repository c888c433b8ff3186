namespace Discounts.Core.Domain;

/// <summary>One host process of a deployment, as it last reported itself: its roles and the scorer it serves.</summary>
public sealed class NodeHeartbeat
{
    public required string NodeId { get; set; }
    /// <summary>Comma-separated, lower case: web, worker, training.</summary>
    public required string Roles { get; set; }
    public long? LoadedModelVersionId { get; set; }
    public string? LoadedModelName { get; set; }
    public string? LoadedSha256 { get; set; }
    public DateTime StartedAt { get; set; }
    public DateTime LastSeenAt { get; set; }
}
