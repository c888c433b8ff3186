using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Discounts.Training.Bert;

/// <summary>Multi-head self-attention (HF key prefix <c>attention.self.</c>).</summary>
public sealed class BertSelfAttention : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Linear query;
    private readonly Linear key;
    private readonly Linear value;
    private readonly int heads;
    private readonly int headSize;
    private readonly double dropoutProbability;

    public BertSelfAttention(BertConfig config) : base(nameof(BertSelfAttention))
    {
        query = nn.Linear(config.HiddenSize, config.HiddenSize);
        key = nn.Linear(config.HiddenSize, config.HiddenSize);
        value = nn.Linear(config.HiddenSize, config.HiddenSize);
        heads = config.NumAttentionHeads;
        headSize = config.HeadSize;
        dropoutProbability = config.AttentionProbsDropoutProb;
        RegisterComponents();
    }

    /// <param name="hidden">[batch, length, hidden]</param>
    /// <param name="attentionBias">[batch, 1, 1, length]: 0 where a key may be attended, a large negative at padding.</param>
    public override Tensor forward(Tensor hidden, Tensor attentionBias)
    {
        long batch = hidden.shape[0], length = hidden.shape[1];
        using var q = SplitHeads(query.call(hidden), batch, length);
        using var k = SplitHeads(key.call(hidden), batch, length);
        using var v = SplitHeads(value.call(hidden), batch, length);
        using var context = nn.functional.scaled_dot_product_attention(
            q, k, v, attentionBias, training ? dropoutProbability : 0.0);
        using var merged = context.transpose(1, 2);
        return merged.reshape(batch, length, heads * headSize);
    }

    /// <summary>[batch, length, hidden] to [batch, heads, length, headSize], as a view (no copy).</summary>
    private Tensor SplitHeads(Tensor projected, long batch, long length)
    {
        using (projected)
        {
            return projected.view(batch, length, heads, headSize).transpose(1, 2);
        }
    }
}

/// <summary>Projection, residual and normalisation after self-attention (HF key prefix <c>attention.output.</c>).</summary>
public sealed class BertSelfOutput : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Linear dense;
    private readonly LayerNorm LayerNorm;
    private readonly double dropoutProbability;

    public BertSelfOutput(BertConfig config) : base(nameof(BertSelfOutput))
    {
        dense = nn.Linear(config.HiddenSize, config.HiddenSize);
        LayerNorm = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        dropoutProbability = config.HiddenDropoutProb;
        RegisterComponents();
    }

    public override Tensor forward(Tensor attended, Tensor residual)
    {
        using var projected = dense.call(attended);
        using var sum = Dropout.Apply(projected, dropoutProbability, training);
        // In place: the projection's output is ours and autograd does not keep it, so no extra buffer is needed.
        sum.add_(residual, KeptScalars.One);
        return LayerNorm.call(sum);
    }
}

/// <summary>Self-attention plus its output block (HF key prefix <c>attention.</c>).</summary>
public sealed class BertAttention : nn.Module<Tensor, Tensor, Tensor>
{
    // "self" is a C# keyword; the verbatim identifier still registers as "self", as the HF key needs.
    private readonly BertSelfAttention @self;
    private readonly BertSelfOutput output;

    public BertAttention(BertConfig config) : base(nameof(BertAttention))
    {
        @self = new BertSelfAttention(config);
        output = new BertSelfOutput(config);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden, Tensor attentionBias)
    {
        using var attended = @self.call(hidden, attentionBias);
        return output.call(attended, hidden);
    }
}
