using System.Security.Cryptography;
using System.Text.Json;
using Discounts.Training.Bert;
using Discounts.Training.Tokenization;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Discounts.Training.Weights;

/// <summary>
/// Loads a Hugging Face BERT folder: <c>config.json</c>, <c>vocab.txt</c> and <c>model.safetensors</c>
/// (optionally <c>tokenizer_config.json</c> for <c>do_lower_case</c>). Keys are mapped with
/// <see cref="HuggingFaceKeys"/> and loaded strictly.
/// </summary>
public static class HuggingFaceBertFolder
{
    public const string ConfigFile = "config.json";
    public const string VocabFile = "vocab.txt";
    public const string WeightsFile = "model.safetensors";
    public const string TokenizerConfigFile = "tokenizer_config.json";

    /// <summary>The files a folder lacks to be a BERT folder; empty when it is complete.</summary>
    public static IReadOnlyList<string> MissingFiles(string folder) =>
        new[] { ConfigFile, VocabFile, WeightsFile }.Where(required => !File.Exists(Path.Combine(folder, required))).ToList();

    /// <summary>Refuses a configured base model folder with a message that says how to fix the setting.</summary>
    public static void EnsureComplete(string folder, string setting)
    {
        var missing = MissingFiles(folder);
        if (missing.Count > 0)
            throw new FileNotFoundException(
                $"The base model folder '{folder}' ({setting}) has no {string.Join(", ", missing)}. Point {setting} at a Hugging Face BERT folder "
                + $"holding {ConfigFile}, {VocabFile} and {WeightsFile} (e.g. a download of bert-base-uncased), or leave it empty to use the packaged all-MiniLM-L6-v2.",
                Path.Combine(folder, missing[0]));
    }

    public static PretrainedBert Load(string folder, Device? device = null)
    {
        foreach (var required in new[] { ConfigFile, VocabFile, WeightsFile })
        {
            if (!File.Exists(Path.Combine(folder, required)))
                throw new FileNotFoundException($"The BERT folder {folder} has no {required}.", Path.Combine(folder, required));
        }

        var config = BertConfig.FromJsonFile(Path.Combine(folder, ConfigFile));
        var tokenizer = BertTextTokenizer.FromVocabFile(Path.Combine(folder, VocabFile), ReadLowerCase(folder));
        var weightsPath = Path.Combine(folder, WeightsFile);
        var model = new BertModel(config);
        try
        {
            LoadWeights(model, weightsPath);
            model.eval();
            if (device is not null && device.type != DeviceType.CPU) model.to(device);
            return new PretrainedBert(model, tokenizer, folder, Sha256Of(weightsPath));
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Loads a safetensors file into a model, mapping legacy key names, and fails on any mismatch.</summary>
    public static void LoadWeights(nn.Module model, string safetensorsPath)
    {
        var checkpoint = Safetensors.LoadStateDict(safetensorsPath);
        try
        {
            var renamed = HuggingFaceKeys.ToModelKeys(checkpoint, safetensorsPath);
            using var noGrad = no_grad();
            StrictStateDict.Load(model, renamed, safetensorsPath);
        }
        finally
        {
            foreach (var tensor in checkpoint.Values) tensor.Dispose();
        }
    }

    public static string Sha256Of(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    private static bool ReadLowerCase(string folder)
    {
        var path = Path.Combine(folder, TokenizerConfigFile);
        if (!File.Exists(path)) return true;
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        return !document.RootElement.TryGetProperty("do_lower_case", out var lowerCase) || lowerCase.GetBoolean();
    }
}
