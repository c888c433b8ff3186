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
            Assert.That(root.GetProperty("scorer").GetString(), Does.StartWith("none: the s3rec data set has no item texts"));
            Assert.That(root.GetProperty("rules").GetProperty("scorer").GetBoolean(), Is.False);
            Assert.That(root.GetProperty("blendWithoutScorer").GetProperty("ndcg@10").GetDouble(), Is.EqualTo(root.GetProperty("ndcg@10").GetDouble()));
        });
    }

    [Test]
    [Category("Slow")]
    public void Run_WhenUniSRecHasItemTexts_FineTunesTheScorerAndReportsItBesideTheBlendWithoutIt()
    {
        // The data set's files and, as on a fresh machine, the data directory the base encoder is converted into.
        var run = VerbConsole.RunInThrowawayDirectory("ranking-verb-unisrec-", directory =>
        {
            WriteUniSRec(directory);
            return EvaluateRankingVerb.Run(["--format", "unisrec", "--input", directory, "--data-dir", Path.Combine(directory, "data"), "--max-minutes", "5"]);
        });

        Assert.That(run.ExitCode, Is.Zero);
        using var json = JsonDocument.Parse(run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Single());
        var root = json.RootElement;
        var sources = root.GetProperty("sources");
        Assert.Multiple(() =>
        {
            Assert.That(root.GetProperty("scorer").GetString(), Is.EqualTo("fine-tuned"));
            Assert.That(root.GetProperty("rules").GetProperty("scorer").GetBoolean(), Is.True);
            foreach (var name in new[] { "scorer", "scorerBase", "text" })
            {
                Assert.That(sources.GetProperty(name).GetProperty("ndcg@10").GetDouble(), Is.InRange(0.0, 1.0), name);
                Assert.That(sources.GetProperty(name).GetProperty("recall@10").GetDouble(), Is.InRange(0.0, 1.0), name);
            }

            Assert.That(root.GetProperty("blendWithoutScorer").GetProperty("ndcg@10").GetDouble(), Is.InRange(0.0, 1.0));
            var members = root.GetProperty("scorerFit").GetProperty("Members");
            Assert.That(members.GetArrayLength(), Is.EqualTo(3), "the default scorer averages three members");
            Assert.That(members[0].GetProperty("EpochLoss").GetArrayLength(), Is.GreaterThan(0));
            Assert.That(root.GetProperty("scorerFit").GetProperty("ShareOfMatmulRate").GetDouble(), Is.GreaterThan(0));
        });
    }

    /// <summary>
    /// Sixty users over twenty items with texts, in RecBole's atomic format: each user walks a stretch of one chain.
    /// </summary>
    private static void WriteUniSRec(string directory)
    {
        string[] nouns = ["drill", "saw", "glove", "goggle", "tape", "clamp", "file", "rasp", "sander", "chisel"];
        var items = Enumerable.Range(0, 20).Select(i => $"B{i:D9}").ToArray();
        File.WriteAllLines(Path.Combine(directory, "Scientific.item2index"), items.Select((asin, i) => $"{asin}\t{i}"));
        File.WriteAllLines(Path.Combine(directory, "Scientific.text"),
            ["item_id:token\ttext:token_seq", .. items.Select((asin, i) => $"{asin}\t{(i % 2 == 0 ? "steel" : "rubber")} {nouns[i % 10]} size {i / 10}. Tools.")]);
        var walks = Enumerable.Range(0, 60).Select(u => Enumerable.Range(u % 14, 6).ToArray()).ToArray();
        string Row(int user, IEnumerable<int> history, int next) => $"{user}\t{string.Join(' ', history)}\t{next}";
        File.WriteAllLines(Path.Combine(directory, "Scientific.train.inter"),
            ["user_id:token\titem_id_list:token_seq\titem_id:token", .. walks.Select((w, u) => Row(u, w[..3], w[3]))]);
        File.WriteAllLines(Path.Combine(directory, "Scientific.valid.inter"),
            ["user_id:token\titem_id_list:token_seq\titem_id:token", .. walks.Select((w, u) => Row(u, w[..4], w[4]))]);
        File.WriteAllLines(Path.Combine(directory, "Scientific.test.inter"),
            ["user_id:token\titem_id_list:token_seq\titem_id:token", .. walks.Select((w, u) => Row(u, w[..5], w[5]))]);
    }

    [Test]
    public void Run_WhenFormatIsUnknown_ThrowsCliException()
    {
        Assert.That(() => EvaluateRankingVerb.Run(["--format", "csv", "--input", "."]), Throws.TypeOf<CliException>().With.Message.Contains("--format"));
    }
}
