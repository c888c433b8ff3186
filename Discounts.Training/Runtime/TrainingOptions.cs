using System.ComponentModel.DataAnnotations;

namespace Discounts.Training.Runtime;

/// <summary>Where and how torch runs (configuration section <c>Training</c>).</summary>
public sealed class TrainingOptions
{
    public const string SectionName = "Training";

    /// <summary><c>auto</c> (CUDA when available, else CPU), <c>cpu</c> or <c>cuda</c>.</summary>
    [Required]
    [RegularExpression("^(?i)(auto|cpu|cuda)$", ErrorMessage = "Training:Device must be auto, cpu or cuda.")]
    public string Device { get; set; } = "auto";

    /// <summary>Intra-op CPU threads for torch; 0 keeps libtorch's default (one per core).</summary>
    [Range(0, 1024)]
    public int Threads { get; set; }

    /// <summary>
    /// How idle OpenMP threads wait: <c>passive</c> (sleep; the default, best when the machine is shared),
    /// <c>active</c> (spin; can be slightly faster on a machine with nothing else to do) or empty for libgomp's
    /// default. An OMP_WAIT_POLICY environment variable overrides it.
    /// </summary>
    [RegularExpression("^(?i)(passive|active|)$", ErrorMessage = "Training:OpenMpWaitPolicy must be passive, active or empty.")]
    public string? OpenMpWaitPolicy { get; set; } = "passive";

    /// <summary>
    /// A Hugging Face BERT folder (config.json, vocab.txt, model.safetensors) to use as the base model instead of
    /// the packaged all-MiniLM-L6-v2; empty for the packaged one.
    /// </summary>
    public string? BaseModelPath { get; set; }
}
