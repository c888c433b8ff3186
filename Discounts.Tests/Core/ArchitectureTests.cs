using System.Reflection;
using System.Xml.Linq;
using Discounts.Core.Data;

namespace Discounts.Tests.Core;

/// <summary>Dependencies point one way: Web → Training → Core. Checked in the compiled assemblies and in the project files.</summary>
public sealed class ArchitectureTests
{
    private static readonly Assembly Core = typeof(DiscountsDbContext).Assembly;
    private static readonly Assembly Training = Assembly.Load("Discounts.Training");

    [Test]
    public void CoreAssembly_WhenInspected_ReferencesNeitherTorchNorAspNet()
    {
        var references = Core.GetReferencedAssemblies().Select(a => a.Name!).ToList();
        Assert.That(references, Has.None.StartsWith("TorchSharp").And.None.StartsWith("Microsoft.AspNetCore").And.None.StartsWith("Discounts."));
    }

    [Test]
    public void TrainingAssembly_WhenInspected_ReferencesNeitherWebNorAspNet()
    {
        var references = Training.GetReferencedAssemblies().Select(a => a.Name!).ToList();
        Assert.That(references, Has.None.EqualTo("Discounts.Web").And.None.StartsWith("Microsoft.AspNetCore"));
    }

    [TestCase("Discounts.Core", new string[0], new[] { "TorchSharp", "Microsoft.AspNetCore", "libtorch", "Hangfire" })]
    [TestCase("Discounts.Training", new[] { "Discounts.Core" }, new[] { "Microsoft.AspNetCore", "Hangfire.AspNetCore" })]
    [TestCase("Discounts.Web", new[] { "Discounts.Core", "Discounts.Training" }, new string[0])]
    public void ProjectFile_WhenRead_ReferencesOnlyAllowedProjectsAndPackages(string project, string[] allowedProjects, string[] forbiddenPackages)
    {
        var file = Path.Combine(RepositoryRoot.Find(), project, $"{project}.csproj");
        var xml = XDocument.Load(file);
        var projects = xml.Descendants("ProjectReference").Select(p => Path.GetFileNameWithoutExtension(p.Attribute("Include")!.Value.Replace('\\', '/'))).ToList();
        var packages = xml.Descendants("PackageReference").Select(p => p.Attribute("Include")!.Value).ToList();

        Assert.Multiple(() =>
        {
            Assert.That(projects, Is.SubsetOf(allowedProjects));
            foreach (var forbidden in forbiddenPackages)
            {
                Assert.That(packages, Has.None.StartsWith(forbidden), $"{project} must not reference {forbidden}");
            }
        });
    }

    [TestCase("Discounts.Core")]
    [TestCase("Discounts.Training")]
    [TestCase("Discounts.Web")]
    public void Folders_WhenReadFromSource_DependOnEachOtherWithoutCycles(string project)
    {
        var dependencies = FolderDependencies.Read(Path.Combine(RepositoryRoot.Find(), project));
        var cycles = dependencies.Cycles();
        Assert.That(cycles, Is.Empty, string.Join("\n", cycles.Select(dependencies.Describe)));
    }

    [Test]
    public void FolderDependencies_WhenTwoFoldersUseEachOther_ReportsTheCycleWithItsEdges()
    {
        var project = Directory.CreateTempSubdirectory("Discounts.Fake-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(project, "Alpha"));
            Directory.CreateDirectory(Path.Combine(project, "Beta"));
            Directory.CreateDirectory(Path.Combine(project, "Gamma"));
            File.WriteAllText(Path.Combine(project, "Alpha", "Sender.cs"), "public sealed class Sender { Receiver? next; /* Lonely */ }");
            File.WriteAllText(Path.Combine(project, "Beta", "Receiver.cs"), "public sealed class Receiver { Sender? back; string s = \"Lonely\"; }");
            File.WriteAllText(Path.Combine(project, "Gamma", "Lonely.cs"), "public sealed class Lonely { Sender? uses; }");

            var dependencies = FolderDependencies.Read(project);
            var cycles = dependencies.Cycles();

            Assert.Multiple(() =>
            {
                Assert.That(cycles, Has.Count.EqualTo(1));
                Assert.That(cycles[0], Is.EqualTo(new[] { "Alpha", "Beta" }));
                Assert.That(dependencies.Describe(cycles[0]), Does.Contain("Sender.cs uses Receiver").And.Contain("Receiver.cs uses Sender"));
                Assert.That(dependencies.Edges["Alpha"].Keys, Has.No.Member("Gamma"), "names in comments and strings are not uses");
            });
        }
        finally
        {
            Directory.Delete(project, recursive: true);
        }
    }

    [Test]
    public void Slices_WhenReadFromSource_NeverNameAnotherSlice()
    {
        var offences = SliceReferences.Find(Path.Combine(RepositoryRoot.Find(), "Discounts.Web", "Features"));
        Assert.That(offences, Is.Empty);
    }

    [Test]
    public void SliceReferences_WhenOneSliceSendsAnothersCommand_ReportsIt()
    {
        var features = Directory.CreateTempSubdirectory("discounts-features-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(features, "Orders"));
            File.WriteAllText(Path.Combine(features, "Orders", "PlaceOrder.cs"),
                "public static class PlaceOrder\n{\n    public sealed record Command : ICommand<int>;\n    void Run() => new PriceOrder.Command();\n}\n");
            File.WriteAllText(Path.Combine(features, "Orders", "PriceOrder.cs"),
                "public static class PriceOrder\n{\n    public sealed record Command : ICommand<int>;\n    // PlaceOrder calls this one.\n}\n");

            Assert.That(SliceReferences.Find(features), Is.EqualTo(new[] { "PlaceOrder.cs names PriceOrder" }));
        }
        finally
        {
            Directory.Delete(features, recursive: true);
        }
    }
}
