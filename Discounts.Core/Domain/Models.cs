namespace Discounts.Core.Domain;

public enum TrainingRunStatus
{
    Queued = 0,
    Running = 1,
    Succeeded = 2,
    Failed = 3,
    Cancelled = 4,
}

/// <summary>One fine-tuning run of the scorer, with what it trained on and how it went.</summary>
public sealed class TrainingRun
{
    public long Id { get; set; }
    public TrainingRunStatus Status { get; set; }
    public string? JobId { get; set; }
    public string Device { get; set; } = "";
    public string HyperparametersJson { get; set; } = "{}";
    public string DatasetSnapshotJson { get; set; } = "{}";
    public string MetricsJson { get; set; } = "{}";
    public double ProgressPercent { get; set; }
    public double? EtaSeconds { get; set; }
    public string? Error { get; set; }
    public long? StartedFromModelVersionId { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime? StartedAt { get; set; }
    public DateTime? FinishedAt { get; set; }
    public List<LossPoint> LossPoints { get; set; } = [];
}

public enum LossSplit
{
    Train = 0,
    Validation = 1,
}

public sealed class LossPoint
{
    public long Id { get; set; }
    public long TrainingRunId { get; set; }
    public int Step { get; set; }
    public int Epoch { get; set; }
    public LossSplit Split { get; set; }
    public double Loss { get; set; }
    /// <summary>Validation metrics recorded with the point (AUC, HR@10, ...), as JSON.</summary>
    public string? MetricsJson { get; set; }
    public DateTime RecordedAt { get; set; }
}

public enum ModelStatus
{
    Candidate = 0,
    Active = 1,
    Retired = 2,
}

/// <summary>A registered scorer: its weights file, checksum, metrics and lineage.</summary>
public sealed class ModelVersion
{
    public long Id { get; set; }
    public required string Name { get; set; }
    public ModelStatus Status { get; set; }
    public required string WeightsPath { get; set; }
    public required string Sha256 { get; set; }
    public string MetricsJson { get; set; } = "{}";
    public long? TrainingRunId { get; set; }
    public TrainingRun? TrainingRun { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime? ActivatedAt { get; set; }
}
