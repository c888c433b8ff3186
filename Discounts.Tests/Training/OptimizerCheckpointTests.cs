using Discounts.Training.FineTuning;
using Discounts.Training.Scorer;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Discounts.Tests.Training;

[TestFixture]
public sealed class OptimizerCheckpointTests
{
    private string folder = "";

    [SetUp]
    public void CreateFolder() => folder = Directory.CreateTempSubdirectory("discounts-optimizer-").FullName;

    [TearDown]
    public void RemoveFolder() => Directory.Delete(folder, recursive: true);

    [Test]
    public void SaveAtomically_WhenStateIsLoadedIntoAFreshOptimizer_NextStepMatchesTheUninterruptedRun()
    {
        manual_seed(7);
        using var original = nn.Linear(6, 3);
        using var originalOptimizer = optim.AdamW(original.parameters(), lr: 0.05);
        for (var step = 0; step < 4; step++) Step(original, originalOptimizer, seed: step);
        var path = Path.Combine(folder, "run-1-epoch1.optimizer");
        var sha = ScorerModels.SaveAtomically(originalOptimizer, path);

        using var resumed = CopyOf(original);
        using var resumedOptimizer = optim.AdamW(resumed.parameters(), lr: 0.05);
        ScorerModels.LoadOptimizerInto(resumedOptimizer, path, sha);
        using var restarted = CopyOf(original);
        using var restartedOptimizer = optim.AdamW(restarted.parameters(), lr: 0.05);

        foreach (var model in new[] { (original, originalOptimizer), (resumed, resumedOptimizer), (restarted, restartedOptimizer) })
            Step(model.Item1, model.Item2, seed: 99);

        Assert.Multiple(() =>
        {
            Assert.That(MaxDifference(original, resumed), Is.LessThan(1e-6), "moments restored: the same step as without the interruption");
            Assert.That(MaxDifference(original, restarted), Is.GreaterThan(1e-4), "fresh moments take a different step, so the check can fail");
            Assert.That(Directory.GetFiles(folder), Is.EqualTo(new[] { path }), "no temporary file is left behind");
        });
    }

    [Test]
    public void LoadOptimizerInto_WhenTheFileWasAltered_RefusesIt()
    {
        using var model = nn.Linear(6, 3);
        using var optimizer = optim.AdamW(model.parameters(), lr: 0.05);
        Step(model, optimizer, seed: 1);
        var path = Path.Combine(folder, "state.optimizer");
        var sha = ScorerModels.SaveAtomically(optimizer, path);
        var bytes = File.ReadAllBytes(path);
        bytes[^1] ^= 0xFF;
        File.WriteAllBytes(path, bytes);

        var error = Assert.Throws<InvalidDataException>(() => ScorerModels.LoadOptimizerInto(optimizer, path, sha));
        Assert.That(error!.Message, Does.Contain("sha256"));
    }

    private static void Step(Linear model, OptimizerHelper optimizer, int seed)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator((ulong)seed);
        var input = randn(8, 6, generator: generator);
        var target = randn(8, 3, generator: generator);
        optimizer.zero_grad();
        var loss = nn.functional.mse_loss(model.call(input), target);
        loss.backward();
        optimizer.step();
    }

    private static Linear CopyOf(Linear source)
    {
        var copy = nn.Linear(6, 3);
        using var noGrad = no_grad();
        copy.weight!.copy_(source.weight!);
        copy.bias!.copy_(source.bias!);
        return copy;
    }

    private static double MaxDifference(Linear a, Linear b)
    {
        using var scope = NewDisposeScope();
        return Math.Max((a.weight! - b.weight!).abs().max().item<float>(), (a.bias! - b.bias!).abs().max().item<float>());
    }
}
