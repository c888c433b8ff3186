using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace Discounts.Training.Weights;

/// <summary>
/// Reads a managed resource embedded in a .NET assembly file without loading the assembly, so none of its
/// dependencies need to be present.
/// </summary>
public static class EmbeddedResourceReader
{
    public static byte[] Read(string assemblyPath, string resourceName)
    {
        using var pe = new PEReader(File.OpenRead(assemblyPath));
        var metadata = pe.GetMetadataReader();
        foreach (var handle in metadata.ManifestResources)
        {
            var resource = metadata.GetManifestResource(handle);
            if (!metadata.StringComparer.Equals(resource.Name, resourceName)) continue;
            if (!resource.Implementation.IsNil)
                throw new InvalidDataException($"Resource '{resourceName}' lives in another file than {assemblyPath}.");
            var directory = pe.PEHeaders.CorHeader?.ResourcesDirectory
                ?? throw new InvalidDataException($"{assemblyPath} is not a .NET assembly.");
            var block = pe.GetSectionData(directory.RelativeVirtualAddress);
            // Each embedded resource is a 4-byte little-endian length followed by the bytes.
            var reader = block.GetReader(checked((int)resource.Offset), block.Length - checked((int)resource.Offset));
            var length = reader.ReadInt32();
            return reader.ReadBytes(length);
        }
        throw new KeyNotFoundException($"{assemblyPath} embeds no resource named '{resourceName}'.");
    }
}
