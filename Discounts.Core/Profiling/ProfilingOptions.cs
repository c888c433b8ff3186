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

    public TextModelOptions ToModelOptions() => new()
    {
        TopicCount = TopicCount, MaxVocabulary = MaxVocabulary, LdaIterations = LdaIterations,
    };
}
