using Discounts.Training.Runtime;
using Discounts.Training.Scorer;
using TorchSharp;
using static TorchSharp.torch;

namespace Discounts.Tests.Training;

public sealed class SequenceScorerTests
{
    private const int Hidden = 32;
    private const int Items = 40;

    [Test]
    public void SampledSoftmaxLoss_WhenComputedByHand_Matches()
    {
        using var scope = NewDisposeScope();
        var users = tensor(new float[] { 1, 0, 0, 1 }, [2, 2]);
        var items = tensor(new float[] { 1, 0, 0, 1, 0.6f, 0.8f }, [3, 2]);
        var scale = tensor(2f);
        var logExpected = tensor(new[] { 0f, (float)Math.Log(4), 0f });
        var labels = tensor(new long[] { 0, 2 });

        var loss = SequenceScorer.SampledSoftmaxLoss(users, items, scale, logExpected, labels).item<float>();

        // User 0: logits 2·(1, 0, 0.6) − (0, ln 4, 0); its target is item 0. User 1: 2·(0, 1, 0.8) − (0, ln 4, 0), target 2.
        double Loss(double[] logits, int target) => Math.Log(logits.Sum(Math.Exp)) - logits[target];
        var expected = (Loss([2, -Math.Log(4), 1.2], 0) + Loss([0, 2 - Math.Log(4), 1.6], 2)) / 2;
        Assert.That(loss, Is.EqualTo(expected).Within(1e-5));
    }

    [Test]
    public void SampledSoftmaxLoss_WhenAnItemIsExpectedOftenAmongNegatives_WeighsItLess()
    {
        using var scope = NewDisposeScope();
        var users = tensor(new float[] { 1, 0 }, [1, 2]);
        var items = tensor(new float[] { 1, 0, 1, 0 }, [2, 2]);
        var labels = tensor(new long[] { 0 });

        var uncorrected = SequenceScorer.SampledSoftmaxLoss(users, items, tensor(1f), tensor(new[] { 0f, 0f }), labels).item<float>();
        var popularNegative = SequenceScorer.SampledSoftmaxLoss(users, items, tensor(1f), tensor(new[] { 0f, 3f }), labels).item<float>();

        Assert.That(popularNegative, Is.LessThan(uncorrected));
    }

    [Test]
    public void Examples_WhenSequencesAreGiven_ReadOnlyTheItemsBeforeEachTarget()
    {
        int[][] sequences = [[5, 6, 7, 8], [1], [2, 3]];

        var examples = SequenceScorer.Examples(sequences)
            .Select(e => (History: SequenceScorer.HistoryBefore(sequences[e.Sequence], e.Position), Target: sequences[e.Sequence][e.Position]))
            .ToList();

        Assert.That(examples.Select(e => $"{string.Join(' ', e.History)} -> {e.Target}"), Is.EqualTo(new[] { "5 -> 6", "5 6 -> 7", "5 6 7 -> 8", "2 -> 3" }));
    }

    [Test]
    public void Fit_WhenTheNextItemFollowsAChain_RanksItAboveTheUntrainedStart()
    {
        var (texts, sequences, validation) = Chain();
        using var scorer = new SequenceScorer(texts, Hidden, CPU, SequenceFitOptions.ZeroShot with { Epochs = 30, BatchSize = 64, LearningRate = 3e-3, UniformNegatives = 16 });
        var untrained = scorer.ValidationNdcg(validation);

        var report = scorer.Fit(sequences, validation, _ => { }).Members[0];

        Assert.Multiple(() =>
        {
            Assert.That(report.EpochLoss[^1], Is.LessThan(report.EpochLoss[0]));
            Assert.That(report.KeptEpoch, Is.GreaterThan(0));
            Assert.That(report.StepGflopsPerSecond, Is.GreaterThan(0));
            Assert.That(scorer.ValidationNdcg(validation), Is.GreaterThan(untrained + 0.3));
            Assert.That(scorer.ValidationNdcg(validation), Is.EqualTo(report.ValidationNdcgAt10[report.KeptEpoch - 1]).Within(1e-9), "the kept epoch is restored");
        });
    }

    [Test]
    public void StepGflops_WhenCountedByHand_Matches()
    {
        // Hidden 4, one user reading 2 positions, 3 negatives: corrections 2·2·16 + 3·2·16, the block 2·(128 + 128 + 32),
        // the output 32, the similarities 2·3·4; three times that forward.
        const double forward = 64 + 576 + 32 + 96 + 24;

        Assert.That(SequenceScorer.StepGflops(4, 1, 2, 3), Is.EqualTo(3 * forward / 1e9).Within(1e-15));
    }

    [Test]
    public void Fit_WhenThereAreTwoMembers_TheirVectorsScoreTheMeanCosineOfTwoSingleScorersWithTheirSeeds()
    {
        var (texts, sequences, validation) = Chain();
        var options = SequenceFitOptions.ZeroShot with { Epochs = 10, BatchSize = 64, LearningRate = 3e-3, UniformNegatives = 16, Seed = 7 };
        using var first = new SequenceScorer(texts, Hidden, CPU, options);
        using var second = new SequenceScorer(texts, Hidden, CPU, options with { Seed = 8 });
        using var pair = new SequenceScorer(texts, Hidden, CPU, options with { Members = 2 });
        first.Fit(sequences, validation, _ => { });
        second.Fit(sequences, validation, _ => { });

        var pairFit = pair.Fit(sequences, validation, _ => { });

        var histories = validation.Select(v => v.History).ToArray();
        float Score(SequenceScorer scorer, int user, int item) =>
            Discounts.Core.Scoring.VectorMath.Dot(
                scorer.UserVectors(histories).AsSpan(user * scorer.Dimension, scorer.Dimension),
                scorer.ItemVectors().AsSpan(item * scorer.Dimension, scorer.Dimension));
        Assert.Multiple(() =>
        {
            Assert.That(pair.Dimension, Is.EqualTo(2 * Hidden));
            Assert.That(pairFit.Members, Has.Count.EqualTo(2));
            Assert.That(Score(first, 0, 5), Is.Not.EqualTo(Score(second, 0, 5)).Within(1e-3f), "the members learn from different seeds");
            foreach (var (u, i) in new[] { (0, 5), (1, 17), (2, 30) })
            {
                Assert.That(Score(pair, u, i), Is.EqualTo((Score(first, u, i) + Score(second, u, i)) / 2).Within(1e-3f));
            }

            var user = pair.UserVectors(histories).AsSpan(0, pair.Dimension);
            var item = pair.ItemVectors().AsSpan(0, pair.Dimension);
            Assert.That(Discounts.Core.Scoring.VectorMath.Dot(user, user), Is.EqualTo(1f).Within(1e-4f), "a joined user vector stays unit-length");
            Assert.That(Discounts.Core.Scoring.VectorMath.Dot(item, item), Is.EqualTo(1f).Within(1e-4f), "a joined item vector stays unit-length");
            Assert.That(pairFit.ValidationNdcgAt10, Is.EqualTo(pair.ValidationNdcg(validation)).Within(1e-9));
            Assert.That(pairFit.ValidationNdcgAt10, Is.GreaterThan(pairFit.BaseValidationNdcgAt10 + 0.3));
        });
    }

    [Test]
    public void Load_WhenTheCatalogueWasReorderedAndGainedAnItem_ScoresAsSavedAndReadsTheNewItemByItsText()
    {
        var (texts, sequences, validation) = Chain();
        using var fitted = new SequenceScorer(texts, Hidden, CPU, SequenceFitOptions.ZeroShot with { ItemIds = true, Epochs = 3, BatchSize = 64, UniformNegatives = 16 });
        fitted.Fit(sequences, validation, _ => { });
        var ids = Enumerable.Range(0, Items).Select(i => 1_000L + i).ToList();
        var path = Path.Combine(Path.GetTempPath(), $"sequence-{Guid.NewGuid():N}.safetensors");
        try
        {
            fitted.Save(path, ids, (4.0, -1.5));

            // Now the catalogue lists the items backwards, with a new one (another text vector) first.
            var newText = Enumerable.Range(0, Hidden).Select(d => (float)Math.Cos(d)).ToArray();
            var order = Enumerable.Range(0, Items).Reverse().ToList();
            var current = new List<long> { 5_000 }.Concat(order.Select(i => ids[i])).ToList();
            var currentTexts = newText.Concat(order.SelectMany(i => texts.AsSpan(i * Hidden, Hidden).ToArray())).ToArray();
            var (loaded, calibration, trained) = SequenceScorer.Load(path, currentTexts, current, CPU);
            using var _ = loaded;

            var before = fitted.ItemVectors();
            var after = loaded.ItemVectors();
            var history = new[] { 3, 4, 5 };
            var userBefore = fitted.UserVectors([history]);
            var userAfter = loaded.UserVectors([history.Select(i => current.IndexOf(ids[i])).ToArray()]);
            Assert.Multiple(() =>
            {
                Assert.That(calibration, Is.EqualTo((4.0, -1.5)));
                Assert.That(trained, Is.EqualTo(ids));
                foreach (var i in new[] { 0, 7, 39 })
                {
                    var row = current.IndexOf(ids[i]);
                    Assert.That(after.AsSpan(row * Hidden, Hidden).ToArray(), Is.EqualTo(before.AsSpan(i * Hidden, Hidden).ToArray()).Within(1e-5f), $"item {i} keeps its vector");
                }

                Assert.That(after.AsSpan(0, Hidden).ToArray(), Is.EqualTo(loaded.ItemVectorsOfTexts(newText, [SequenceTowers.TextOnly])).Within(1e-5f),
                    "the new item is read by its text alone");
                Assert.That(userAfter, Is.EqualTo(userBefore).Within(1e-5f), "a history reads the same items in the new rows");
            });
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void UserVectors_WhenTheUntrainedTowersReadAHistory_AreTheRecencyWeightedMeanOfItsTextVectors()
    {
        var (texts, _, _) = Chain();
        using var scorer = new SequenceScorer(texts, Hidden, CPU, SequenceFitOptions.ZeroShot);

        var user = scorer.UserVectors([[3, 4]]);

        // Newest first with weights 1 and 0.7 before the softmax: item 4 weighs 1/1.7, item 3 0.7/1.7.
        var expected = Enumerable.Range(0, Hidden).Select(d => (texts[4 * Hidden + d] + 0.7f * texts[3 * Hidden + d]) / 1.7f).ToArray();
        var norm = (float)Math.Sqrt(expected.Sum(x => x * x));
        Assert.That(user, Is.EqualTo(expected.Select(x => x / norm).ToArray()).Within(1e-4f));
    }

    [Test]
    [Category("Gpu")]
    public void Fit_WhenCudaIsPresent_RunsAnEpochOnCuda()
    {
        if (!TorchRuntime.IsCudaAvailable()) Assert.Ignore("No CUDA device on this machine.");
        var (texts, sequences, validation) = Chain();
        using var scorer = new SequenceScorer(texts, Hidden, CUDA, SequenceFitOptions.ZeroShot with { Epochs = 1, BatchSize = 64 });

        var report = scorer.Fit(sequences, validation, _ => { }).Members[0];

        Assert.That(report.EpochLoss, Has.Count.EqualTo(1));
        Assert.That(double.IsFinite(report.EpochLoss[0]), Is.True);
    }

    /// <summary>
    /// Random text vectors and users walking a fixed random chain of items: after item k comes chain[k]. The text says
    /// nothing about the chain, so only training can learn it.
    /// </summary>
    private static (float[] Texts, int[][] Sequences, List<(int[] History, int Target)> Validation) Chain()
    {
        var random = new Random(3);
        var texts = new float[Items * Hidden];
        for (var item = 0; item < Items; item++)
        {
            var row = Enumerable.Range(0, Hidden).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            var norm = (float)Math.Sqrt(row.Sum(x => x * x));
            for (var d = 0; d < Hidden; d++)
            {
                texts[item * Hidden + d] = row[d] / norm;
            }
        }

        var next = Enumerable.Range(0, Items).OrderBy(_ => random.Next()).ToArray();
        int[] Walk(int start, int length)
        {
            var walk = new int[length];
            walk[0] = start;
            for (var i = 1; i < length; i++)
            {
                walk[i] = next[walk[i - 1]];
            }

            return walk;
        }

        var sequences = Enumerable.Range(0, 200).Select(u => Walk(random.Next(Items), 6)).ToArray();
        var validation = Enumerable.Range(0, 60).Select(_ => Walk(random.Next(Items), 4)).Select(w => (w[..3], w[3])).ToList();
        return (texts, sequences, validation);
    }
}
