using Discounts.Training.Bert;
using Discounts.Training.Runtime;
using Discounts.Training.Tokenization;
using Discounts.Training.Weights;
using Microsoft.Extensions.Options;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Discounts.Tests.Training;

[TestFixture]
public sealed class HuggingFaceBertFolderTests
{
    private static readonly string[] Vocab =
        ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "red", "shoe", "##s", "the", "cafe", "blue", "hat"];

    private string folder = "";

    [SetUp]
    public void CreateFolder()
    {
        folder = Path.Combine(Path.GetTempPath(), "discounts-bert-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
    }

    [TearDown]
    public void DeleteFolder() => Directory.Delete(folder, recursive: true);

    [Test]
    public void Load_WhenFolderUsesCurrentKeys_ReproducesTheSavedModel()
    {
        using var original = WriteFixture(model => model.save_safetensors(Path.Combine(folder, HuggingFaceBertFolder.WeightsFile)));
        using var loaded = HuggingFaceBertFolder.Load(folder);
        AssertSameOutputs(original, loaded);
    }

    [Test]
    public void Load_WhenFolderUsesLegacyKeys_MapsBertPrefixGammaBetaAndDropsHeads()
    {
        using var original = WriteFixture(model =>
        {
            var legacy = new Dictionary<string, Tensor>();
            foreach (var (key, value) in model.state_dict())
            {
                var legacyKey = "bert." + key.Replace("LayerNorm.weight", "LayerNorm.gamma", StringComparison.Ordinal)
                    .Replace("LayerNorm.bias", "LayerNorm.beta", StringComparison.Ordinal);
                legacy[legacyKey] = value;
            }
            legacy["bert.embeddings.position_ids"] = arange(model.Config.MaxPositionEmbeddings).unsqueeze(0);
            legacy["cls.predictions.bias"] = zeros(Vocab.Length);
            legacy["cls.predictions.transform.LayerNorm.gamma"] = ones(model.Config.HiddenSize);
            Assert.That(legacy.Keys, Has.Some.Contains(".gamma"), "the fixture really uses legacy names");
            Safetensors.SaveStateDict(Path.Combine(folder, HuggingFaceBertFolder.WeightsFile), legacy);
        });
        using var loaded = HuggingFaceBertFolder.Load(folder);
        AssertSameOutputs(original, loaded);
    }

    [Test]
    public void Load_WhenAKeyDoesNotMatch_FailsNamingTheKeys()
    {
        using var original = WriteFixture(model =>
        {
            var renamed = model.state_dict().ToDictionary(
                pair => pair.Key.Replace("attention.self.query", "attention.self.q_proj", StringComparison.Ordinal),
                pair => pair.Value);
            Safetensors.SaveStateDict(Path.Combine(folder, HuggingFaceBertFolder.WeightsFile), renamed);
        });
        var error = Assert.Throws<WeightMismatchException>(() => HuggingFaceBertFolder.Load(folder));
        Assert.That(error!.Message, Does.Contain("encoder.layer.0.attention.self.query.weight")
            .And.Contain("encoder.layer.0.attention.self.q_proj.weight"));
    }

    [Test]
    public void Load_WhenATensorHasTheWrongShape_Fails()
    {
        using var original = WriteFixture(model =>
        {
            var state = model.state_dict().ToDictionary(pair => pair.Key, pair => pair.Value);
            state["pooler.dense.bias"] = zeros(model.Config.HiddenSize + 1);
            Safetensors.SaveStateDict(Path.Combine(folder, HuggingFaceBertFolder.WeightsFile), state);
        });
        var error = Assert.Throws<WeightMismatchException>(() => HuggingFaceBertFolder.Load(folder));
        Assert.That(error!.Message, Does.Contain("pooler.dense.bias"));
    }

    [Test]
    public void BaseModelLoader_WhenBaseModelPathIsSet_LoadsThatFolder()
    {
        using var original = WriteFixture(model => model.save_safetensors(Path.Combine(folder, HuggingFaceBertFolder.WeightsFile)));
        var options = Options.Create(new TrainingOptions { Device = "cpu", BaseModelPath = folder });
        var loader = new BaseModelLoader(options, new TorchRuntime(options));
        using var loaded = loader.Load(dataDirectory: Path.Combine(folder, "unused-data"));
        Assert.Multiple(() =>
        {
            Assert.That(loaded.Folder, Is.EqualTo(folder));
            Assert.That(loaded.Config.HiddenSize, Is.EqualTo(32));
            Assert.That(Directory.Exists(Path.Combine(folder, "unused-data")), Is.False, "the packaged model was not converted");
        });
        AssertSameOutputs(original, loaded);
    }

    [Test]
    public void LoadStateDict_WhenNonStrictPyBridgeLoadMatchesNothing_OurStrictLoadRefuses()
    {
        using var model = new BertModel(BertConfig.Tiny(Vocab.Length));
        var foreign = new Dictionary<string, Tensor> { ["something.else.weight"] = zeros(3) };
        Assert.Throws<WeightMismatchException>(() => StrictStateDict.Load(model, foreign, "a foreign checkpoint"));
    }

    private BertModel WriteFixture(Action<BertModel> writeWeights)
    {
        manual_seed(1234);
        var config = BertConfig.Tiny(Vocab.Length);
        config.WriteJsonFile(Path.Combine(folder, HuggingFaceBertFolder.ConfigFile));
        File.WriteAllLines(Path.Combine(folder, HuggingFaceBertFolder.VocabFile), Vocab);
        var model = new BertModel(config);
        model.eval();
        writeWeights(model);
        return model;
    }

    private static void AssertSameOutputs(BertModel original, PretrainedBert loaded)
    {
        var batch = loaded.Tokenizer.EncodePairs(["red shoes", "the blue hat"], ["cafe", "red"], maxLength: 12);
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        using var inputs = batch.ToTensors();
        var expected = original.call(inputs.InputIds, inputs.AttentionMask, inputs.TokenTypeIds);
        var actual = loaded.Model.call(inputs.InputIds, inputs.AttentionMask, inputs.TokenTypeIds);
        Assert.Multiple(() =>
        {
            Assert.That(batch.InputIds, Does.Not.Contain((long)loaded.Tokenizer.UnknownTokenId));
            Assert.That(actual.LastHiddenState.allclose(expected.LastHiddenState, rtol: 0, atol: 1e-6), Is.True);
            Assert.That(actual.PoolerOutput.allclose(expected.PoolerOutput, rtol: 0, atol: 1e-6), Is.True);
        });
    }
}
