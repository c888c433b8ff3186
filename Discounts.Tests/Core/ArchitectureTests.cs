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
}
