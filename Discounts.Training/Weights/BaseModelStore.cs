using Discounts.Training.Bert;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Discounts.Training.Weights;

/// <summary>
/// Keeps the converted base model as a Hugging Face folder under <c>&lt;data&gt;/models/base/</c>: converted once
/// from the packaged ONNX file, then reused while <c>model.safetensors</c> still matches its recorded SHA-256.
/// </summary>
public sealed class BaseModelStore(string dataDirectory, MiniLmPackage? package = null)
{
    public const string ShaFile = "model.safetensors.sha256";

    public string Folder { get; } = Path.Combine(Path.GetFullPath(dataDirectory), "models", "base");

    /// <summary>True when the cached folder is complete and its weights match the recorded hash.</summary>
    public bool IsCached
    {
        get
        {
            var weights = Path.Combine(Folder, HuggingFaceBertFolder.WeightsFile);
            var sha = Path.Combine(Folder, ShaFile);
            if (!File.Exists(weights) || !File.Exists(sha)
                || !File.Exists(Path.Combine(Folder, HuggingFaceBertFolder.ConfigFile))
                || !File.Exists(Path.Combine(Folder, HuggingFaceBertFolder.VocabFile)))
            {
                return false;
            }
            return string.Equals(File.ReadAllText(sha).Trim(), HuggingFaceBertFolder.Sha256Of(weights), StringComparison.OrdinalIgnoreCase);
        }
    }

    /// <summary>Converts the packaged model unless a valid cache exists; returns the folder.</summary>
    public string EnsureConverted()
    {
        if (IsCached) return Folder;
        var source = package ?? MiniLmPackage.FromOutputFolder();
        var config = BertConfig.AllMiniLmL6V2;
        var weights = OnnxToHuggingFace.Map(OnnxModel.Parse(source.ReadOnnxModel()));

        // Build beside the final folder and swap it in, so a crash or a concurrent reader never sees half a cache.
        var staging = $"{Folder}.staging-{Environment.ProcessId}-{Guid.NewGuid():N}";
        Directory.CreateDirectory(staging);
        try
        {
            WriteSafetensors(config, weights, Path.Combine(staging, HuggingFaceBertFolder.WeightsFile));
            config.WriteJsonFile(Path.Combine(staging, HuggingFaceBertFolder.ConfigFile));
            File.WriteAllBytes(Path.Combine(staging, HuggingFaceBertFolder.VocabFile), source.ReadVocab());
            File.WriteAllText(Path.Combine(staging, ShaFile),
                HuggingFaceBertFolder.Sha256Of(Path.Combine(staging, HuggingFaceBertFolder.WeightsFile)) + "\n");
            if (Directory.Exists(Folder)) Directory.Delete(Folder, recursive: true);
            Directory.CreateDirectory(Path.GetDirectoryName(Folder)!);
            Directory.Move(staging, Folder);
        }
        catch (IOException) when (IsCached)
        {
            // Another process finished the same conversion first; its cache is as good as ours.
        }
        finally
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        }
        return Folder;
    }

    public PretrainedBert Load(Device? device = null) => HuggingFaceBertFolder.Load(EnsureConverted(), device);

    private static void WriteSafetensors(BertConfig config, IReadOnlyDictionary<string, NamedWeight> weights, string path)
    {
        // Load into a fresh model first: the strict load proves every ONNX tensor found its place and every
        // parameter was filled before anything is written to the cache.
        using var model = new BertModel(config);
        var tensors = weights.ToDictionary(pair => pair.Key, pair => tensor(pair.Value.Data, pair.Value.Shape));
        try
        {
            using (no_grad())
            {
                StrictStateDict.Load(model, tensors, "the packaged ONNX model");
            }
            model.save_safetensors(path);
        }
        finally
        {
            foreach (var value in tensors.Values) value.Dispose();
        }
    }
}
