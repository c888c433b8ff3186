using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Discounts.Training.Bert;

/// <summary>The feed-forward expansion with exact (erf) GELU (HF key prefix <c>intermediate.</c>).</summary>
public sealed class BertIntermediate : nn.Module<Tensor, Tensor>
{
    private readonly Linear dense;

    public BertIntermediate(BertConfig config) : base(nameof(BertIntermediate))
    {
        dense = nn.Linear(config.HiddenSize, config.IntermediateSize);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden)
    {
        using var expanded = dense.call(hidden);
        return nn.functional.gelu(expanded);
    }
}

/// <summary>The feed-forward contraction, residual and normalisation (HF key prefix <c>output.</c>).</summary>
public sealed class BertOutput : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Linear dense;
    private readonly LayerNorm LayerNorm;
    private readonly double dropoutProbability;

    public BertOutput(BertConfig config) : base(nameof(BertOutput))
    {
        dense = nn.Linear(config.IntermediateSize, config.HiddenSize);
        LayerNorm = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        dropoutProbability = config.HiddenDropoutProb;
        RegisterComponents();
    }

    public override Tensor forward(Tensor intermediate, Tensor residual)
    {
        using var projected = dense.call(intermediate);
        using var sum = Dropout.Apply(projected, dropoutProbability, training);
        // In place: the projection's output is ours and autograd does not keep it, so no extra buffer is needed.
        sum.add_(residual, KeptScalars.One);
        return LayerNorm.call(sum);
    }
}

/// <summary>One transformer block (HF key prefix <c>encoder.layer.N.</c>).</summary>
public sealed class BertLayer : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly BertAttention attention;
    private readonly BertIntermediate intermediate;
    private readonly BertOutput output;

    public BertLayer(BertConfig config) : base(nameof(BertLayer))
    {
        attention = new BertAttention(config);
        intermediate = new BertIntermediate(config);
        output = new BertOutput(config);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden, Tensor attentionBias)
    {
        using var attended = attention.call(hidden, attentionBias);
        using var expanded = intermediate.call(attended);
        return output.call(expanded, attended);
    }
}

/// <summary>The stack of transformer blocks (HF key prefix <c>encoder.</c>).</summary>
public sealed class BertEncoder : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly ModuleList<BertLayer> layer;

    public BertEncoder(BertConfig config) : base(nameof(BertEncoder))
    {
        layer = nn.ModuleList(Enumerable.Range(0, config.NumHiddenLayers).Select(_ => new BertLayer(config)).ToArray());
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden, Tensor attentionBias)
    {
        var current = hidden.alias();
        foreach (var block in layer)
        {
            using var previous = current;
            current = block.call(previous, attentionBias);
        }
        return current;
    }
}

/// <summary>Dense + tanh over the first ([CLS]) token (HF key prefix <c>pooler.</c>).</summary>
public sealed class BertPooler : nn.Module<Tensor, Tensor>
{
    private readonly Linear dense;

    public BertPooler(BertConfig config) : base(nameof(BertPooler))
    {
        dense = nn.Linear(config.HiddenSize, config.HiddenSize);
        RegisterComponents();
    }

    public override Tensor forward(Tensor lastHiddenState)
    {
        using var first = lastHiddenState.select(1, 0);
        using var projected = dense.call(first);
        return projected.tanh();
    }
}
