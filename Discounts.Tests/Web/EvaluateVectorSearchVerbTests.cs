using System.Text.Json;
using Discounts.Web.Cli;

namespace Discounts.Tests.Web;

[NonParallelizable]
public sealed class EvaluateVectorSearchVerbTests
{
    [Test]
    [Category("Slow")]
    public void Run_WhenGeneratedCatalogue_PrintsOneJsonLineWithRecallAgainstTheExactScanPerShare()
    {
        // The base encoder is converted into a throwaway data directory, as on a fresh machine.
        var run = VerbConsole.RunInThrowawayDirectory("discounts-vector-search-", dataDirectory => EvaluateVectorSearchVerb.Run(
            ["--catalogue", "generated", "--items", "1000", "--queries", "20", "--shares", "0.05,1", "--data-dir", dataDirectory]));

        Assert.That(run.ExitCode, Is.Zero);
        using var json = JsonDocument.Parse(run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Single());
        var root = json.RootElement;
        var shares = root.GetProperty("clustered").EnumerateArray().ToList();
        Assert.Multiple(() =>
        {
            Assert.That(root.GetProperty("items").GetInt32(), Is.EqualTo(1000));
            Assert.That(root.GetProperty("queries").GetInt32(), Is.EqualTo(20));
            Assert.That(root.GetProperty("clusters").GetInt32(), Is.EqualTo(32), "√n clusters");
            Assert.That(root.GetProperty("quantisedScan").GetProperty("meanRecallAt60").GetDouble(), Is.GreaterThanOrEqualTo(0.95));
            Assert.That(shares.Select(s => s.GetProperty("scanShare").GetDouble()), Is.EqualTo(new[] { 0.05, 1 }));
            Assert.That(shares[0].GetProperty("meanRowsScanned").GetDouble(), Is.InRange(16 * 60, 1000), "never fewer than 16 rows per row wanted");
            Assert.That(shares[0].GetProperty("meanRecallAt60").GetDouble(), Is.InRange(0.0, 1.0));
            Assert.That(shares[1].GetProperty("meanRecallAt60").GetDouble(), Is.EqualTo(1), "scanning every cluster is the exact scan");
            Assert.That(shares[1].GetProperty("meanRowsScanned").GetDouble(), Is.EqualTo(1000));
        });
    }

    [TestCase("--catalogue", "movies")]
    [TestCase("--shares", "0.1,2")]
    [TestCase("--shares", "none")]
    public void Run_WhenAnArgumentIsBad_ThrowsCliExceptionNamingTheOption(string option, string value)
    {
        string[] arguments = option == "--catalogue" ? [option, value] : ["--catalogue", "generated", option, value];

        Assert.That(() => EvaluateVectorSearchVerb.Run(arguments), Throws.TypeOf<CliException>().With.Message.Contains(option));
    }
}
