namespace Discounts.Training.Weights;

/// <summary>A float32 parameter under its Hugging Face name, row-major.</summary>
public sealed record NamedWeight(string Name, long[] Shape, float[] Data);
