using Discounts.Training.Benchmarks;
using Discounts.Training.Bert;
using Discounts.Training.Weights;

namespace Discounts.Tests.Training;

[TestFixture]
public sealed class BertParityTests
{
    private const double Tolerance = 1e-4;

    [Test]
    public void LastHiddenState_WhenComparedWithOnnxRuntime_ParityWithinTolerance()
    {
        var bert = BaseModelFixture.Model;
        var batch = bert.Tokenizer.EncodePairs(
            ["Wireless noise-cancelling headphones", "A café in Paris", "cheap", "Running shoes for trail and road"],
            ["bought by people who travel a lot", "résumé of the naïve owner", "discount on a pair of socks", "size 44"],
            maxLength: 32);
        Assert.That(batch.AttentionMask, Does.Contain(0L), "the batch should include padding to prove it is ignored");

        using var onnx = new OnnxBertRunner(MiniLmPackage.FromOutputFolder().ReadOnnxModel(), threads: 2);
        var expected = onnx.LastHiddenState(batch);
        var actual = new BertInference(bert).LastHiddenState(batch);

        Assert.That(actual, Has.Length.EqualTo(expected.Length));
        var hidden = bert.Config.HiddenSize;
        var maxDiff = 0.0;
        for (var row = 0; row < batch.BatchSize; row++)
        {
            for (var position = 0; position < batch.SequenceLength; position++)
            {
                if (batch.IsPadding(row, position)) continue;
                var offset = ((row * batch.SequenceLength) + position) * hidden;
                for (var i = 0; i < hidden; i++)
                    maxDiff = Math.Max(maxDiff, Math.Abs(actual[offset + i] - expected[offset + i]));
            }
        }
        TestContext.Out.WriteLine($"Parity: max |TorchSharp - ONNX Runtime| on last_hidden_state (non-pad) = {maxDiff:E2}");
        Assert.That(maxDiff, Is.LessThanOrEqualTo(Tolerance));
    }
}
