using System.Buffers.Binary;
using System.Text;

namespace Discounts.Tests.Training;

[TestFixture]
public sealed class GlibcxxFixTests
{
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const ushort VerFlgWeak = 0x2;

    [Test]
    public void LibTorchSharpInTestOutput_WhenBuilt_HasGlibcxxNeedsAbove3430MarkedWeak()
    {
        if (!OperatingSystem.IsLinux()) Assert.Ignore("The fix applies to Linux builds only.");
        var library = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.That(File.Exists(library), Is.True, library);

        var needs = GlibcxxVersionNeeds(File.ReadAllBytes(library));
        var newer = needs.Where(need => int.Parse(need.Name["GLIBCXX_3.4.".Length..], System.Globalization.CultureInfo.InvariantCulture) > 30).ToList();
        TestContext.Out.WriteLine(string.Join(", ", needs.Select(need => $"{need.Name}{(need.Weak ? " (weak)" : "")}")));
        Assert.Multiple(() =>
        {
            Assert.That(newer, Is.Not.Empty, "TorchSharp 0.107 asks for GLIBCXX_3.4.32; if not, this test can go");
            Assert.That(newer.Where(need => !need.Weak).Select(need => need.Name), Is.Empty);
        });
    }

    private static List<(string Name, bool Weak)> GlibcxxVersionNeeds(byte[] elf)
    {
        var span = elf.AsSpan();
        var sectionTable = (int)BinaryPrimitives.ReadInt64LittleEndian(span[0x28..]);
        int sectionSize = BinaryPrimitives.ReadUInt16LittleEndian(span[0x3A..]);
        int sectionCount = BinaryPrimitives.ReadUInt16LittleEndian(span[0x3C..]);
        var needs = new List<(string, bool)>();
        for (var section = 0; section < sectionCount; section++)
        {
            var header = sectionTable + (section * sectionSize);
            if (BinaryPrimitives.ReadUInt32LittleEndian(span[(header + 4)..]) != ShtGnuVerneed) continue;
            var entry = (int)BinaryPrimitives.ReadInt64LittleEndian(span[(header + 24)..]);
            var link = (int)BinaryPrimitives.ReadUInt32LittleEndian(span[(header + 40)..]);
            var count = (int)BinaryPrimitives.ReadUInt32LittleEndian(span[(header + 44)..]);
            var strings = (int)BinaryPrimitives.ReadInt64LittleEndian(span[(sectionTable + (link * sectionSize) + 24)..]);
            for (var n = 0; n < count; n++)
            {
                int auxCount = BinaryPrimitives.ReadUInt16LittleEndian(span[(entry + 2)..]);
                var aux = entry + (int)BinaryPrimitives.ReadUInt32LittleEndian(span[(entry + 8)..]);
                for (var k = 0; k < auxCount; k++)
                {
                    var flags = BinaryPrimitives.ReadUInt16LittleEndian(span[(aux + 4)..]);
                    var nameStart = strings + (int)BinaryPrimitives.ReadUInt32LittleEndian(span[(aux + 8)..]);
                    var name = Encoding.ASCII.GetString(span[nameStart..][..span[nameStart..].IndexOf((byte)0)]);
                    if (name.StartsWith("GLIBCXX_3.4.", StringComparison.Ordinal)) needs.Add((name, (flags & VerFlgWeak) != 0));
                    aux += (int)BinaryPrimitives.ReadUInt32LittleEndian(span[(aux + 12)..]);
                }
                var next = (int)BinaryPrimitives.ReadUInt32LittleEndian(span[(entry + 12)..]);
                if (next == 0) break;
                entry += next;
            }
        }
        return needs;
    }
}
