using TorchSharp;
using static TorchSharp.torch;

namespace Discounts.Training.Bert;

/// <summary>The encoder's outputs; the caller owns (and disposes, or lets its dispose scope take) both tensors.</summary>
public readonly record struct BertModelOutput(Tensor LastHiddenState, Tensor PoolerOutput);

/// <summary>
/// A BERT encoder whose state dict keys are exactly those of Hugging Face's <c>BertModel</c>
/// (<c>embeddings.*</c>, <c>encoder.layer.N.*</c>, <c>pooler.dense.*</c>).
/// The module opens no dispose scope of its own: the caller wraps each forward or training step in one
/// <c>torch.NewDisposeScope()</c>, and intermediates are freed as soon as they are used.
/// </summary>
public sealed class BertModel : nn.Module<Tensor, Tensor, Tensor, BertModelOutput>
{
    // Additive bias for padded keys. Large enough that softmax gives them zero weight, small enough for float16.
    private const float PaddingBias = -10000f;

    private readonly BertEmbeddings embeddings;
    private readonly BertEncoder encoder;
    private readonly BertPooler pooler;

    public BertModel(BertConfig config) : base(nameof(BertModel))
    {
        config.Validate();
        Config = config;
        embeddings = new BertEmbeddings(config);
        encoder = new BertEncoder(config);
        pooler = new BertPooler(config);
        RegisterComponents();
    }

    public BertConfig Config { get; }

    /// <param name="inputIds">[batch, length] int64 token ids.</param>
    /// <param name="attentionMask">[batch, length] int64, 1 for real tokens and 0 for padding.</param>
    /// <param name="tokenTypeIds">[batch, length] int64 segment ids (0 for the first text, 1 for the second).</param>
    public override BertModelOutput forward(Tensor inputIds, Tensor attentionMask, Tensor tokenTypeIds)
    {
        using var embedded = embeddings.call(inputIds, tokenTypeIds);
        using var attentionBias = AttentionBias(attentionMask, embedded.dtype);
        var lastHiddenState = encoder.call(embedded, attentionBias);
        var pooled = pooler.call(lastHiddenState);
        return new BertModelOutput(lastHiddenState, pooled);
    }

    private static Tensor AttentionBias(Tensor attentionMask, ScalarType dtype)
    {
        using var padding = attentionMask.eq(0);
        using var bias = zeros(attentionMask.shape, dtype, attentionMask.device).masked_fill_(padding, PaddingBias);
        return bias.view(attentionMask.shape[0], 1, 1, attentionMask.shape[1]);
    }
}
