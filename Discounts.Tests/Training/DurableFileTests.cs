using Discounts.Training.Runtime;

namespace Discounts.Tests.Training;

public sealed class DurableFileTests
{
    private string directory = "";

    [SetUp]
    public void CreateDirectory() => directory = Directory.CreateTempSubdirectory("discounts-durable-").FullName;

    [TearDown]
    public void RemoveDirectory() => Directory.Delete(directory, recursive: true);

    [Test]
    public void Rename_WhenTargetExistsAndOverwriteAllowed_ReplacesItAndLeavesNoTemporary()
    {
        var target = Path.Combine(directory, "pointer.json");
        File.WriteAllText(target, "old");
        var temporary = target + ".tmp";
        File.WriteAllText(temporary, "new");
        DurableFile.FlushToDisk(temporary);

        DurableFile.Rename(temporary, target, overwrite: true);

        Assert.That(File.ReadAllText(target), Is.EqualTo("new"));
        Assert.That(File.Exists(temporary), Is.False);
    }

    [Test]
    public void Rename_WhenTargetExistsAndOverwriteRefused_ThrowsAndKeepsTheTarget()
    {
        var target = Path.Combine(directory, "weights.safetensors");
        File.WriteAllText(target, "kept");
        var temporary = target + ".tmp";
        File.WriteAllText(temporary, "other");

        Assert.Throws<IOException>(() => DurableFile.Rename(temporary, target, overwrite: false));
        Assert.That(File.ReadAllText(target), Is.EqualTo("kept"));
    }

    [Test]
    public void SyncDirectory_WhenDirectoryDoesNotExist_ThrowsNamingIt()
    {
        if (!OperatingSystem.IsLinux()) Assert.Ignore("Directories are flushed on Linux only.");
        var missing = Path.Combine(directory, "no-such-folder");

        var error = Assert.Throws<IOException>(() => DurableFile.SyncDirectory(missing));

        Assert.That(error!.Message, Does.Contain("no-such-folder").And.Contain("errno 2"));
    }
}
