using Discounts.Training.Weights;
using Discounts.Training.Bert;

namespace Discounts.Tests.Training;

[TestFixture]
public sealed class SentenceEmbeddingTests
{
    [Test]
    public void Embed_WhenGivenParaphrases_PutsThemCloserThanUnrelatedSentences()
    {
        var inference = new BertInference(BaseModelFixture.Model);
        var embeddings = inference.Embed([
            "The running shoes were too small for me.",
            "These trainers did not fit, they were a size too small.",
            "The quarterly tax report is due next Tuesday.",
            "How do I reset the password of my account?",
        ]);

        var paraphrase = Dot(embeddings[0], embeddings[1]);
        var unrelated = Math.Max(Dot(embeddings[0], embeddings[2]), Dot(embeddings[0], embeddings[3]));
        TestContext.Out.WriteLine($"cosine paraphrase {paraphrase:F3}, best unrelated {unrelated:F3}");
        Assert.Multiple(() =>
        {
            Assert.That(Dot(embeddings[0], embeddings[0]), Is.EqualTo(1.0).Within(1e-4), "embeddings are unit length");
            Assert.That(paraphrase, Is.GreaterThan(unrelated + 0.2));
        });
    }

    [Test]
    public void Pool_WhenRowHasPadding_IgnoresPaddedPositions()
    {
        using var hidden = TorchSharp.torch.tensor(new float[] { 1, 1, 3, 3, 100, 100 }, [1, 3, 2]);
        using var mask = TorchSharp.torch.tensor(new long[] { 1, 1, 0 }, [1, 3]);
        using var pooled = MeanPooling.Pool(hidden, mask, normalise: false);
        Assert.That(pooled.data<float>().ToArray(), Is.EqualTo(new float[] { 2, 2 }));
    }

    private static double Dot(float[] a, float[] b) => a.Zip(b, (x, y) => (double)x * y).Sum();
}
