using System.ComponentModel.DataAnnotations;

namespace Discounts.Training.Scorer;

public enum ScorerBase
{
    /// <summary>The packaged all-MiniLM-L6-v2 (or Training:BaseModelPath).</summary>
    Pretrained,
    /// <summary>A randomly initialised 2-layer, 32-wide BERT with the MiniLM vocabulary: for tests only.</summary>
    Tiny,
}

/// <summary>Fine-tuning and serving of the scorer (configuration section <c>Training</c>, beside <see cref="Runtime.TrainingOptions"/>).</summary>
public sealed class FineTuneOptions
{
    public const string SectionName = "Training";

    public ScorerBase ScorerBase { get; set; } = ScorerBase.Pretrained;

    /// <summary>Token budget of one user or item text when serving; training uses the run's own setting.</summary>
    [Range(8, 512)]
    public int ServingMaxSequenceLength { get; set; } = 48;

    /// <summary>
    /// How often (seconds) the serving scorer checks the catalogue for items added or edited since its snapshot was built
    /// and embeds just those; 0 turns it off (such items then score NaN until the next start or swap).
    /// </summary>
    [Range(0, 86_400)]
    public int ServingItemRefreshSeconds { get; set; } = 15;

    /// <summary>Hyperparameters a run uses for any field its request leaves out.</summary>
    public FineTuneHyperparameters Hyperparameters { get; set; } = new();
}
