using Discounts.Core.Data;
using Discounts.Training.Bert;
using Discounts.Training.Runtime;
using Discounts.Training.Tokenization;
using Discounts.Training.Weights;
using Microsoft.Extensions.Options;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Discounts.Training.Scorer;

/// <summary>Builds scorers from the base encoder, loads registered versions (checksum first) and writes weights atomically.</summary>
public sealed class ScorerModels(IOptions<FineTuneOptions> options, IOptions<TrainingOptions> training, TorchRuntime runtime, DataPaths paths)
{
    private const int TinySeed = 20_261_128;
    private static readonly Lock TinyInitialisation = new();

    /// <summary>Where registered scorer weights live: under the artifact store (Storage:ArtifactDirectory, default &lt;data&gt;/models/).</summary>
    public string ScorerFolder => Path.Combine(paths.Models, "scorer");

    /// <summary>
    /// A registry path for a file in the artifact store: relative to the store, so nodes that mount the shared volume
    /// at different places still find it. Paths outside the store stay absolute.
    /// </summary>
    public string ToRegistryPath(string path)
    {
        var relative = Path.GetRelativePath(paths.Models, path);
        return relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative) ? path : relative;
    }

    /// <summary>The base encoder under a fresh, cosine-initialised head; also names the base weights.</summary>
    public (ScorerModel Scorer, string BaseSha256) CreateBase(double dropout)
    {
        var device = runtime.Device;
        BertModel encoder;
        BertTextTokenizer tokenizer;
        string sha;
        if (options.Value.ScorerBase == ScorerBase.Tiny)
        {
            tokenizer = BertTextTokenizer.FromVocab(MiniLmPackage.FromOutputFolder().ReadVocab());
            // The seed is global in torch; holding the lock keeps two tiny bases built at once identical.
            lock (TinyInitialisation)
            {
                manual_seed(TinySeed);
                encoder = new BertModel(BertConfig.Tiny(BertConfig.AllMiniLmL6V2.VocabSize) with
                {
                    HiddenDropoutProb = dropout, AttentionProbsDropoutProb = dropout,
                });
            }
            sha = $"tiny-{TinySeed}";
        }
        else
        {
            var folder = string.IsNullOrWhiteSpace(training.Value.BaseModelPath)
                ? new BaseModelStore(paths.Root).EnsureConverted()
                : training.Value.BaseModelPath;
            HuggingFaceBertFolder.EnsureComplete(folder, "Training:BaseModelPath");
            var config = BertConfig.FromJsonFile(Path.Combine(folder, HuggingFaceBertFolder.ConfigFile)) with
            {
                HiddenDropoutProb = dropout, AttentionProbsDropoutProb = dropout,
            };
            tokenizer = BertTextTokenizer.FromVocabFile(Path.Combine(folder, HuggingFaceBertFolder.VocabFile));
            encoder = new BertModel(config);
            var weights = Path.Combine(folder, HuggingFaceBertFolder.WeightsFile);
            HuggingFaceBertFolder.LoadWeights(encoder, weights);
            sha = HuggingFaceBertFolder.Sha256Of(weights);
        }

        var model = new TwoTowerModel(encoder, dropout);
        if (device.type != DeviceType.CPU) model.to(device);
        model.eval();
        return (new ScorerModel(model, tokenizer, device), sha);
    }

    /// <summary>A registered version's item vector file: next to its weights, so it lives and goes with them.</summary>
    public string ItemVectorsPath(string weightsPath) =>
        Path.ChangeExtension(Path.Combine(paths.Models, weightsPath), ".items.bin");

    /// <summary>
    /// The base model's item vector file, in the data directory and named by the base weights' sha256, so another base
    /// model (or the tiny test encoder) never reads it.
    /// </summary>
    public string BaseItemVectorsPath(string baseSha256) =>
        Path.Combine(paths.Root, "item-vectors", $"base-{string.Concat(baseSha256.Where(char.IsAsciiLetterOrDigit))}.items.bin");

    /// <summary>Where runs keep their per-epoch checkpoints until they finish.</summary>
    public string CheckpointFolder => Path.Combine(paths.Models, "checkpoints");

    /// <summary>Loads a registered version; a file whose sha256 differs from the registry's is refused before it is read.</summary>
    public ScorerModel LoadVersion(string weightsPath, string expectedSha256)
    {
        var (scorer, _) = CreateBase(dropout: 0);
        try
        {
            // An absolute path (older rows, files registered by hand) stays as it is.
            LoadWeightsInto(scorer.Model, FullPath(weightsPath), expectedSha256);
            scorer.Model.eval();
            return scorer;
        }
        catch
        {
            scorer.Dispose();
            throw;
        }
    }

    /// <summary>A registry path as a file path here (an absolute one, from older rows or registered by hand, stays as it is).</summary>
    public string FullPath(string weightsPath) => Path.Combine(paths.Models, weightsPath);

    /// <summary>Throws <see cref="InvalidDataException"/> unless the file's sha256 is the registry's.</summary>
    public static void VerifySha256(string weightsPath, string expectedSha256)
    {
        var actual = HuggingFaceBertFolder.Sha256Of(weightsPath);
        if (!string.Equals(actual, expectedSha256, StringComparison.OrdinalIgnoreCase))
            throw new InvalidDataException($"The weights file {Path.GetFileName(weightsPath)} has sha256 {actual}, the registry expects {expectedSha256}.");
    }

    /// <summary>Checks the file's sha256, then loads it strictly into <paramref name="model"/>.</summary>
    public static void LoadWeightsInto(TwoTowerModel model, string weightsPath, string expectedSha256)
    {
        VerifySha256(weightsPath, expectedSha256);
        var checkpoint = Safetensors.LoadStateDict(weightsPath);
        try
        {
            using var noGrad = no_grad();
            StrictStateDict.Load(model, checkpoint, weightsPath);
        }
        finally
        {
            foreach (var value in checkpoint.Values) value.Dispose();
        }
    }

    /// <summary>
    /// Writes the weights to a temp file, flushes it to disk, and renames it into place, so a crash never leaves a
    /// half-written file under the final name. Returns the file's sha256.
    /// </summary>
    public static string SaveAtomically(TwoTowerModel model, string path) => WriteAtomically(path, temporary => model.save_safetensors(temporary));

    /// <summary>A sequence scorer with the items its own vectors belong to and its calibration, written the same crash-safe way. Returns the sha256.</summary>
    public static string SaveAtomically(SequenceScorer scorer, string path, IReadOnlyList<long> itemIds, (double Scale, double Bias) calibration) =>
        WriteAtomically(path, temporary => scorer.Save(temporary, itemIds, calibration));

    /// <summary>The optimiser's moments and step counts, written the same crash-safe way as weights. Returns the sha256.</summary>
    public static string SaveAtomically(OptimizerHelper optimizer, string path) => WriteAtomically(path, optimizer.save_state_dict);

    /// <summary>Checks the sha256 of a saved optimiser state, then loads it into <paramref name="optimizer"/>.</summary>
    public static void LoadOptimizerInto(OptimizerHelper optimizer, string statePath, string expectedSha256)
    {
        var actual = HuggingFaceBertFolder.Sha256Of(statePath);
        if (!string.Equals(actual, expectedSha256, StringComparison.OrdinalIgnoreCase))
            throw new InvalidDataException($"The optimiser state {Path.GetFileName(statePath)} has sha256 {actual}, the checkpoint expects {expectedSha256}.");
        optimizer.load_state_dict(statePath);
    }

    private static string WriteAtomically(string path, Action<string> write)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temporary = $"{path}.tmp-{Guid.NewGuid():N}";
        try
        {
            write(temporary);
            DurableFile.FlushToDisk(temporary);
            var sha = HuggingFaceBertFolder.Sha256Of(temporary);
            DurableFile.Rename(temporary, path, overwrite: false);
            return sha;
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
    }
}
