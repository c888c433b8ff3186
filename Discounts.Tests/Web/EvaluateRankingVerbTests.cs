using System.Text.Json;
using Discounts.Web.Cli;

namespace Discounts.Tests.Web;

[NonParallelizable]
public sealed class EvaluateRankingVerbTests
{
    [Test]
    public void Run_WhenS3RecFile_PrintsOneJsonLineWithTheServedBlendAndEachSourceAlone()
    {
        var path = Path.Combine(Path.GetTempPath(), $"ranking-verb-{Guid.NewGuid():N}.txt");

        // Forty users walking the same chain 1 → 2 → … with different starts: co-occurrence predicts the next item,
        // except for the four users who start at 10, whose last step 13 → 14 no training sequence contains.
        File.WriteAllLines(path, Enumerable.Range(0, 40).Select(u => $"{u + 1} " + string.Join(' ', Enumerable.Range(1 + (u % 10), 5))));
        (int ExitCode, string Stdout) run;
        try
        {
            run = VerbConsole.Run(() => EvaluateRankingVerb.Run(["--format", "s3rec", "--input", path]));
        }
        finally
        {
            File.Delete(path);
        }

        Assert.That(run.ExitCode, Is.Zero);
        var lines = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        using var json = JsonDocument.Parse(lines.Single());
        var root = json.RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(root.GetProperty("users").GetInt32(), Is.EqualTo(40));
            Assert.That(root.GetProperty("subset").GetBoolean(), Is.False);
            Assert.That(root.GetProperty("hr@5").GetDouble(), Is.GreaterThanOrEqualTo(0.9));
            Assert.That(root.GetProperty("sources").GetProperty("popular").GetProperty("ndcg@10").GetDouble(), Is.LessThan(root.GetProperty("ndcg@10").GetDouble()));
            Assert.That(root.GetProperty("sources").GetProperty("cooccurrence").GetProperty("hr@5").GetDouble(), Is.GreaterThanOrEqualTo(0.9));
            Assert.That(root.GetProperty("rules").GetProperty("historyExcluded").GetBoolean(), Is.True);
        });
    }

    [Test]
    public void Run_WhenFormatIsUnknown_ThrowsCliException()
    {
        Assert.That(() => EvaluateRankingVerb.Run(["--format", "csv", "--input", "."]), Throws.TypeOf<CliException>().With.Message.Contains("--format"));
    }
}
