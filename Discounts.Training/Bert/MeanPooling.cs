using static TorchSharp.torch;

namespace Discounts.Training.Bert;

/// <summary>Sentence embeddings as the mask-weighted mean of token states (the sentence-transformers recipe).</summary>
public static class MeanPooling
{
    /// <param name="lastHiddenState">[batch, length, hidden]</param>
    /// <param name="attentionMask">[batch, length], 1 for real tokens.</param>
    /// <param name="normalise">Scale each embedding to unit length, so a dot product is the cosine similarity.</param>
    /// <returns>[batch, hidden]</returns>
    public static Tensor Pool(Tensor lastHiddenState, Tensor attentionMask, bool normalise = true)
    {
        using var weights = attentionMask.unsqueeze(-1).to_type(lastHiddenState.dtype);
        using var weighted = lastHiddenState.mul(weights);
        using var summed = weighted.sum(1);
        using var counts = weights.sum(1).clamp_min(1e-9);
        var mean = summed.div(counts);
        if (!normalise) return mean;
        using (mean)
        {
            return nn.functional.normalize(mean, p: 2, dim: 1);
        }
    }
}
