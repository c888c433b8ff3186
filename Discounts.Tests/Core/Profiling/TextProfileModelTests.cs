using Discounts.Core.Profiling;

namespace Discounts.Tests.Core.Profiling;

public sealed class TextProfileModelTests
{
    [Test]
    public void Score_WhenBatchIsSplitAcrossModelCopies_EachDocumentScoresAsItDoesAlone()
    {
        var random = new Random(11);
        string[][] themes =
        [
            ["serum", "vitamin", "glow", "skin", "bright"],
            ["tent", "trail", "hike", "boots", "camp"],
            ["novel", "chapter", "author", "story", "read"],
        ];
        var documents = Enumerable.Range(0, 2_600)
            .Select(i => (IReadOnlyList<string>)Enumerable.Range(0, 12).Select(_ => themes[(i + random.Next(4) / 3) % 3][random.Next(5)]).ToList())
            .ToList();
        var model = TextProfileModel.Fit(documents, new TextModelOptions { TopicCount = 3, LdaIterations = 20, MaxDocumentShare = 0.9 }, DateTime.UtcNow);

        var batch = model.Score(documents);
        var probes = new[] { 0, 1, 899, 1_300, 1_301, 2_599 };

        Assert.That(batch, Has.Count.EqualTo(documents.Count));
        foreach (var index in probes)
        {
            var alone = model.Score(documents[index]);
            Assert.Multiple(() =>
            {
                Assert.That(batch[index].Keywords, Is.EqualTo(alone.Keywords), $"keywords of document {index}");
                Assert.That(batch[index].TopicMixture, Is.EqualTo(alone.TopicMixture), $"topics of document {index}");
            });
        }
    }
}
