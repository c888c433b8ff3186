using System.Diagnostics;
using Discounts.Training.Weights;
using Discounts.Training.Bert;
using TorchSharp;

namespace Discounts.Tests.Training;

[TestFixture]
public sealed class NativeMemoryTests
{
    [Test]
    public void Embed_WhenCalledManyTimes_KeepsLiveTensorsAndResidentMemoryFlat()
    {
        // One thread: on a busy shared machine, small forwards with two OpenMP threads mostly wait for each other,
        // and this test is about memory, not speed.
        var threadsBefore = torch.get_num_threads();
        torch.set_num_threads(1);
        try
        {
            RunManyCalls();
        }
        finally
        {
            torch.set_num_threads(threadsBefore);
        }
    }

    private static void RunManyCalls()
    {
        var inference = new BertInference(BaseModelFixture.Model);
        string[] texts = ["a pair of red running shoes", "noise-cancelling headphones for travel", "a café au lait mug"];
        for (var i = 0; i < 10; i++) inference.Embed(texts); // warm-up: allocator pools, lazy initialisation

        var statistics = DisposeScopeManager.Statistics;
        statistics.Reset();
        var liveBefore = statistics.ThreadTotalLiveCount;
        var rssBefore = ResidentBytes();
        const int Calls = 150;
        for (var i = 0; i < Calls; i++) inference.Embed(texts);
        var liveAfter = statistics.ThreadTotalLiveCount;
        var rssAfter = ResidentBytes();

        var growthMiB = (rssAfter - rssBefore) / (1024.0 * 1024.0);
        TestContext.Out.WriteLine(
            $"{Calls} calls: live tensors {liveBefore} -> {liveAfter}, created in scope {statistics.CreatedInScopeCount}, " +
            $"disposed in scope {statistics.DisposedInScopeCount}, RSS {rssBefore / 1048576.0:F1} -> {rssAfter / 1048576.0:F1} MiB ({growthMiB:+0.0;-0.0} MiB)");
        Assert.Multiple(() =>
        {
            Assert.That(liveAfter, Is.EqualTo(liveBefore), "every tensor made during a call is freed by its end");
            Assert.That(statistics.CreatedInScopeCount, Is.GreaterThan(0), "the calls ran in dispose scopes");
            Assert.That(growthMiB, Is.LessThan(32), "resident memory stays flat");
        });
    }

    private static long ResidentBytes()
    {
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        return process.WorkingSet64;
    }
}
