using System.ComponentModel.DataAnnotations;

namespace Discounts.Core.Profiling;

public sealed class ProfilingOptions
{
    public const string Section = "Profiles";

    [Range(2, 200)]
    public int TopicCount { get; set; } = 12;

    [Range(100, 1_000_000)]
    public int MaxVocabulary { get; set; } = 20_000;

    [Range(10, 5_000)]
    public int LdaIterations { get; set; } = 100;

    /// <summary>Changes arriving within this window are refreshed together by one job.</summary>
    [Range(1, 3_600)]
    public int RefreshDebounceSeconds { get; set; } = 10;

    /// <summary>When the full rebuild (refit of vocabulary and topics, every profile rescored) runs; Hangfire cron, UTC.</summary>
    [Required]
    public string RebuildCron { get; set; } = "0 3 * * *";

    /// <summary>A word the fitted vocabulary lacks enters it between fits only once at least this many distinct users wrote it.</summary>
    [Range(1, 32)]
    public int NewTermMinUsers { get; set; } = 2;

    /// <summary>Terms whose document counts are kept live; beyond it a new word still weighs in its writer's profile, as a term seen once.</summary>
    [Range(1_000, 10_000_000)]
    public int MaxTrackedTerms { get; set; } = 200_000;

    /// <summary>Words admitted to the vocabulary between two fits; the next fit starts again from its own vocabulary.</summary>
    [Range(0, 1_000_000)]
    public int MaxNewTerms { get; set; } = 5_000;

    public TextModelOptions ToModelOptions() => new()
    {
        TopicCount = TopicCount, MaxVocabulary = MaxVocabulary, LdaIterations = LdaIterations,
    };
}
