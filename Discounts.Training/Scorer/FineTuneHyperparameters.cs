namespace Discounts.Training.Scorer;

/// <summary>Which scorer a fine-tuning run trains.</summary>
public enum ScorerKind
{
    /// <summary>The BERT two-tower model on (profile text, item text) pairs, the encoder's top layers fine-tuned.</summary>
    TwoTower,

    /// <summary>The sequence-aware towers over the pretrained encoder's item vectors, on what users chose next (<see cref="SequenceScorer"/>).</summary>
    Sequence,
}

/// <summary>
/// What a fine-tuning run is asked to do. The defaults finish in a few minutes on two CPU cores for the demo shop:
/// short sequences, a capped number of examples per epoch, frozen embeddings.
/// </summary>
public sealed record FineTuneHyperparameters
{
    public ScorerKind Model { get; init; } = ScorerKind.TwoTower;

    /// <summary>How a <see cref="ScorerKind.Sequence"/> run builds and trains its towers; its defaults when left out. The other fields are the two-tower model's.</summary>
    public SequenceFitOptions? Sequence { get; init; }

    public int Epochs { get; init; } = 1;
    public int BatchSize { get; init; } = 16;
    public double LearningRate { get; init; } = 3e-5;
    /// <summary>Share of the steps over which the learning rate rises linearly before it decays linearly to zero.</summary>
    public double WarmupFraction { get; init; } = 0.1;
    public double WeightDecay { get; init; } = 0.01;
    public double Dropout { get; init; } = 0.1;
    public double MaxGradNorm { get; init; } = 1.0;
    public int MaxSequenceLength { get; init; } = 48;
    public int MaxExamplesPerEpoch { get; init; } = 1024;
    /// <summary>Random catalogue items drawn as extra negatives for each purchase.</summary>
    public int SampledNegativesPerPositive { get; init; } = 2;
    public bool FreezeEmbeddings { get; init; } = true;
    /// <summary>The lowest transformer blocks that stay frozen.</summary>
    public int FrozenLayers { get; init; }
    /// <summary>The last days of history held out as the validation split.</summary>
    public int ValidationDays { get; init; } = 21;
    public int MaxValidationUsers { get; init; } = 200;
    public int Seed { get; init; } = 17;
    public int LogEverySteps { get; init; } = 5;
    /// <summary>Activate the new version even when it does not beat the active one.</summary>
    public bool ForcePromote { get; init; }
}
