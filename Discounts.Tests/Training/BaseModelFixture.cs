using Discounts.Training.Weights;

namespace Discounts.Tests.Training;

/// <summary>
/// The converted base model, shared by the tests that need real weights so the conversion and load happen once
/// per test run. The cache lives in the test output folder, so later runs reuse it.
/// </summary>
internal static class BaseModelFixture
{
    public static string DataDirectory { get; } = Path.Combine(AppContext.BaseDirectory, "test-data");

    public static BaseModelStore Store { get; } = new(DataDirectory);

    private static readonly Lazy<PretrainedBert> Loaded = new(() => Store.Load(), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Shared: tests must not dispose it or change its weights.</summary>
    public static PretrainedBert Model => Loaded.Value;
}
