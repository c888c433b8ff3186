using Discounts.Core.Data;
using Discounts.Core.Discounting;
using Discounts.Core.Evaluation;

namespace Discounts.Tests.Core.Discounting;

public sealed class HillstromTests
{
    private static string DataFile => Path.GetFullPath(Path.Combine(RepositoryRoot.Find(), "..", "shared", "data", "hillstrom-dev", "hillstrom-dev.csv.gz"));

    [Test]
    public void Run_WhenWomensEmailOnVisit_TargetsBetterThanRandom()
    {
        if (!File.Exists(DataFile))
        {
            Assert.Ignore($"The Hillstrom file is not at {DataFile}.");
        }

        var rows = Hillstrom.Load(DataFile, "Womens E-Mail", "visit");
        var result = UpliftEvaluation.Run(rows, seeds: 3, new UpliftLearnerOptions());

        // Random targeting gives the average effect, about 0.0515 on this half, and a Qini coefficient of 0.
        Assert.That(rows, Has.Count.EqualTo(20_340));
        Assert.That(result.UpliftAt30.Mean, Is.GreaterThan(0.06));
        Assert.That(result.Qini.Mean, Is.GreaterThan(0.03));
    }

    [Test]
    public void StratifiedHalves_WhenSplit_KeepEachArmAndOutcomeShare()
    {
        var rows = Enumerable.Range(0, 1_000).Select(i => new UpliftRow([i], i % 2, i % 10 == 0)).ToList();
        var (train, test) = UpliftEvaluation.StratifiedHalves(rows, seed: 1);

        Assert.Multiple(() =>
        {
            Assert.That(train.Count + test.Count, Is.EqualTo(1_000));
            Assert.That(train.Count(r => r.Arm == 1 && r.Outcome), Is.EqualTo(test.Count(r => r.Arm == 1 && r.Outcome)).Within(1));
            Assert.That(train.Select(r => r.Features[0]).Intersect(test.Select(r => r.Features[0])), Is.Empty);
        });
    }
}
