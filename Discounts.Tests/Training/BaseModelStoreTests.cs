using Discounts.Training.Weights;

namespace Discounts.Tests.Training;

[TestFixture]
public sealed class BaseModelStoreTests
{
    [Test]
    public void EnsureConverted_WhenCacheIsValid_ReusesItWithoutRewriting()
    {
        var store = BaseModelFixture.Store;
        var folder = store.EnsureConverted();
        var weights = Path.Combine(folder, HuggingFaceBertFolder.WeightsFile);
        var writtenAt = File.GetLastWriteTimeUtc(weights);

        Assert.That(store.EnsureConverted(), Is.EqualTo(folder));
        Assert.Multiple(() =>
        {
            Assert.That(store.IsCached, Is.True);
            Assert.That(File.GetLastWriteTimeUtc(weights), Is.EqualTo(writtenAt));
            Assert.That(File.ReadAllText(Path.Combine(folder, BaseModelStore.ShaFile)).Trim(),
                Is.EqualTo(HuggingFaceBertFolder.Sha256Of(weights)));
            Assert.That(folder, Does.EndWith(Path.Combine("models", "base")));
        });
    }

    [Test]
    public void EnsureConverted_WhenRecordedShaDoesNotMatch_ConvertsAgain()
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "discounts-store-" + Guid.NewGuid().ToString("N"));
        try
        {
            var store = new BaseModelStore(dataDirectory);
            var folder = store.EnsureConverted();
            var shaPath = Path.Combine(folder, BaseModelStore.ShaFile);
            var goodSha = File.ReadAllText(shaPath).Trim();
            File.WriteAllText(shaPath, new string('0', 64));
            Assert.That(store.IsCached, Is.False);

            store.EnsureConverted();
            Assert.Multiple(() =>
            {
                Assert.That(store.IsCached, Is.True);
                Assert.That(File.ReadAllText(shaPath).Trim(), Is.EqualTo(goodSha), "the conversion is deterministic");
            });
        }
        finally
        {
            if (Directory.Exists(dataDirectory)) Directory.Delete(dataDirectory, recursive: true);
        }
    }
}
