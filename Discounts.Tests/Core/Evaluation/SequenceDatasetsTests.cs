using System.IO.Compression;
using Discounts.Core.Evaluation;

namespace Discounts.Tests.Core.Evaluation;

public sealed class SequenceDatasetsTests
{
    private string directory = null!;

    [SetUp]
    public void CreateDirectory()
    {
        directory = Path.Combine(Path.GetTempPath(), "discounts-ranking-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
    }

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(directory, recursive: true);

    [Test]
    public void LoadS3Rec_WhenGzipped_SplitsLastTwoItemsAsTestAndValidation()
    {
        var path = Path.Combine(directory, "Tiny.txt.gz");
        WriteGzip(path, "1 1 2 3 4 5\n2 6 7 8\n");

        var data = SequenceDatasets.LoadS3Rec(path);

        Assert.Multiple(() =>
        {
            Assert.That(data.Name, Is.EqualTo("Tiny"));
            Assert.That(data.ItemCount, Is.EqualTo(8));
            Assert.That(data.Users, Has.Count.EqualTo(2));
            Assert.That(data.InteractionCount, Is.EqualTo(8));
            var first = data.Users[0];
            Assert.That(first.Train, Is.EqualTo(new[] { 0, 1, 2 }));
            Assert.That(first.ValidHistory, Is.EqualTo(new[] { 0, 1, 2 }));
            Assert.That(first.ValidTarget, Is.EqualTo(3));
            Assert.That(first.TestHistory, Is.EqualTo(new[] { 0, 1, 2, 3 }));
            Assert.That(first.TestTarget, Is.EqualTo(4));
            Assert.That(data.Users[1].Train, Is.EqualTo(new[] { 5 }));
            Assert.That(data.Users[1].TestTarget, Is.EqualTo(7));
        });
    }

    [Test]
    public void LoadS3Rec_WhenUserHasTwoItems_Throws()
    {
        var path = Path.Combine(directory, "Short.txt");
        File.WriteAllText(path, "1 1 2\n");

        Assert.That(() => SequenceDatasets.LoadS3Rec(path), Throws.TypeOf<InvalidDataException>().With.Message.Contains("Line 1"));
    }

    [Test]
    public void LoadUniSRec_WhenAtomicFiles_UsesRowsAsGivenAndMapsTexts()
    {
        WriteGzip(Path.Combine(directory, "Sci.item2index.gz"), "ASIN0\t0\nASIN1\t1\nASIN2\t2\nASIN3\t3\n");
        WriteGzip(Path.Combine(directory, "Sci.train.inter.gz"), "user_id:token\titem_id_list:token_seq\titem_id:token\n0\t0\t1\n0\t0 1\t2\n1\t3\t2\n");
        WriteGzip(Path.Combine(directory, "Sci.valid.inter.gz"), "user_id:token\titem_id_list:token_seq\titem_id:token\n0\t0 1 2\t3\n1\t3 2\t1\n");
        WriteGzip(Path.Combine(directory, "Sci.test.inter.gz"), "user_id:token\titem_id_list:token_seq\titem_id:token\n0\t0 1 2 3\t1\n1\t3 2 1\t0\n");
        WriteGzip(Path.Combine(directory, "Sci.text.gz"), "item_id:token\ttext:token_seq\nASIN2\tSanding roll. Abrasives.\nASIN0\tPipette tips\n");

        var data = SequenceDatasets.LoadUniSRec(directory, "Sci");

        Assert.Multiple(() =>
        {
            Assert.That(data.ItemCount, Is.EqualTo(4));
            Assert.That(data.Users, Has.Count.EqualTo(2));
            Assert.That(data.Users[0].Train, Is.EqualTo(new[] { 0, 1, 2 }));
            Assert.That(data.Users[0].ValidHistory, Is.EqualTo(new[] { 0, 1, 2 }));
            Assert.That(data.Users[0].ValidTarget, Is.EqualTo(3));
            Assert.That(data.Users[0].TestHistory, Is.EqualTo(new[] { 0, 1, 2, 3 }));
            Assert.That(data.Users[0].TestTarget, Is.EqualTo(1));
            Assert.That(data.Users[1].Train, Is.EqualTo(new[] { 3, 2 }));
            Assert.That(data.Users[1].TestTarget, Is.EqualTo(0));
            Assert.That(data.ItemTexts, Is.EqualTo(new[] { "Pipette tips", string.Empty, "Sanding roll. Abrasives.", string.Empty }));
        });
    }

    [Test]
    public void LoadUniSRec_WhenItemIsNotInItem2Index_Throws()
    {
        File.WriteAllText(Path.Combine(directory, "Sci.item2index"), "ASIN0\t0\n");
        File.WriteAllText(Path.Combine(directory, "Sci.train.inter"), "header\n0\t0\t5\n");

        Assert.That(() => SequenceDatasets.LoadUniSRec(directory, "Sci"), Throws.TypeOf<InvalidDataException>().With.Message.Contains("item 5"));
    }

    private static void WriteGzip(string path, string text)
    {
        using var file = File.Create(path);
        using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        using var writer = new StreamWriter(gzip);
        writer.Write(text);
    }
}
