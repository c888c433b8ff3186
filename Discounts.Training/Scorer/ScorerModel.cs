using Discounts.Training.Tokenization;
using static TorchSharp.torch;

namespace Discounts.Training.Scorer;

/// <summary>A two-tower model with its tokenizer and device. Disposing it frees the model's tensors.</summary>
public sealed class ScorerModel(TwoTowerModel model, BertTextTokenizer tokenizer, Device device) : IDisposable
{
    public TwoTowerModel Model { get; } = model;

    public BertTextTokenizer Tokenizer { get; } = tokenizer;

    public Device Device { get; } = device;

    public void Dispose() => Model.Dispose();
}

/// <summary>Batched inference for evaluation and serving: one dispose scope and inference mode per batch, results copied out.</summary>
public static class ScorerInference
{
    private const int BatchSize = 64;

    /// <summary>Unit-length sentence vectors, row-major [texts, hidden].</summary>
    public static float[] Embed(ScorerModel scorer, IReadOnlyList<string> texts, int maxLength)
    {
        var hidden = scorer.Model.HiddenSize;
        var result = new float[texts.Count * hidden];
        for (var start = 0; start < texts.Count; start += BatchSize)
        {
            var chunk = texts.Skip(start).Take(BatchSize).ToList();
            var batch = scorer.Tokenizer.EncodeBatch(chunk, maxLength);
            using var scope = NewDisposeScope();
            using var inference = inference_mode();
            using var inputs = batch.ToTensors(scorer.Device);
            var vectors = scorer.Model.Encode(inputs).cpu();
            vectors.data<float>().CopyTo(result.AsSpan(start * hidden, chunk.Count * hidden));
        }
        return result;
    }

    /// <summary>Calibrated P(buys) for row i of <paramref name="users"/> paired with row i of <paramref name="items"/>.</summary>
    public static float[] BuyProbabilities(ScorerModel scorer, float[] users, float[] items) =>
        HeadOutput(scorer, users, items, calibrated: true);

    /// <summary>The uncalibrated buy margin (buy logit minus the other) of each pair, what calibration is fitted on.</summary>
    public static float[] BuyMargins(ScorerModel scorer, float[] users, float[] items) =>
        HeadOutput(scorer, users, items, calibrated: false);

    private static float[] HeadOutput(ScorerModel scorer, float[] users, float[] items, bool calibrated)
    {
        var hidden = scorer.Model.HiddenSize;
        var rows = users.Length / hidden;
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var u = tensor(users, [rows, hidden], device: scorer.Device);
        var v = tensor(items, [rows, hidden], device: scorer.Device);
        var logits = scorer.Model.Head(u, v);
        var output = (calibrated ? scorer.Model.BuyProbability(logits) : TwoTowerModel.Margin(logits)).cpu();
        return output.data<float>().ToArray();
    }
}
