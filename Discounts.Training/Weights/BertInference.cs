using Discounts.Training.Weights;
using Discounts.Training.Bert;
using Discounts.Training.Tokenization;
using static TorchSharp.torch;

namespace Discounts.Training.Weights;

/// <summary>
/// Runs a loaded encoder for serving: one dispose scope and inference mode per call, results copied out to
/// managed arrays so no tensor outlives the call.
/// </summary>
public sealed class BertInference(PretrainedBert bert, int maxLength = 128)
{
    private readonly Device device = bert.Model.parameters().First().device;

    public PretrainedBert Bert { get; } = bert;

    public int MaxLength { get; } = maxLength;

    /// <summary>Unit-length mean-pooled sentence embeddings, one row per text.</summary>
    public float[][] Embed(IReadOnlyList<string> texts)
    {
        var batch = Bert.Tokenizer.EncodeBatch(texts, MaxLength);
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        using var inputs = batch.ToTensors(device);
        var (lastHiddenState, _) = Bert.Model.call(inputs.InputIds, inputs.AttentionMask, inputs.TokenTypeIds);
        var pooled = MeanPooling.Pool(lastHiddenState, inputs.AttentionMask).cpu();
        var hidden = (int)pooled.shape[1];
        var flat = pooled.data<float>().ToArray();
        return [.. Enumerable.Range(0, batch.BatchSize).Select(row => flat.AsSpan(row * hidden, hidden).ToArray())];
    }

    /// <summary>The last hidden state, [batch, length, hidden] flattened row-major.</summary>
    public float[] LastHiddenState(TokenizedBatch batch)
    {
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        using var inputs = batch.ToTensors(device);
        var (lastHiddenState, _) = Bert.Model.call(inputs.InputIds, inputs.AttentionMask, inputs.TokenTypeIds);
        return lastHiddenState.cpu().data<float>().ToArray();
    }
}
