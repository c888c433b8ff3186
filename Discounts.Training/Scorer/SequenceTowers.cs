using Discounts.Training.Bert;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Discounts.Training.Scorer;

/// <summary>
/// The sequence-aware scorer's two towers over the pretrained encoder's sentence vectors. The item tower adapts an
/// item's text vector; the user tower reads the item tower's vectors of the user's recent items, newest first, through
/// one transformer block with learned positions. Both start as the zero-shot scorer: the adapter and the block's output
/// are zero at first, so an untrained model ranks by the recency-weighted mean of the text vectors, and fine-tuning
/// can only move from there.
/// </summary>
public sealed class SequenceTowers : nn.Module<Tensor, Tensor, Tensor>
{
    public const int MaxHistory = 20;

    /// <summary>An empty place in a history row.</summary>
    public const long Padding = -1;

    /// <summary>A real history place with no item vector of its own: an item the towers were not trained on, or a user's text.</summary>
    public const long TextOnly = -2;
    private const double InitialRecencyDecay = 0.7;
    private const double InitialTemperature = 0.05;
    private const float PaddingBias = -10000f;
    private const double ItemIdDropout = 0.5;

    private readonly Linear item_adapter;
    private readonly Embedding? item_embeddings;
    private readonly Parameter position_embeddings;
    private readonly Parameter recency_logits;
    private readonly BertLayer sequence_layer;
    private readonly Linear sequence_output;
    private readonly Parameter log_scale;

    /// <param name="itemCount">With a positive count, each catalogue item also learns its own vector, added to its text's
    /// (zero at first): what co-purchases teach beyond the words. Items added later have none and are read by text alone.</param>
    public SequenceTowers(int hidden, double dropoutProbability, int itemCount = 0) : base(nameof(SequenceTowers))
    {
        Hidden = hidden;
        item_adapter = nn.Linear(hidden, hidden);
        if (itemCount > 0)
        {
            item_embeddings = nn.Embedding(itemCount, hidden);
            using var noGrad = no_grad();
            item_embeddings.weight!.zero_();
        }

        sequence_output = nn.Linear(hidden, hidden);
        using (no_grad())
        {
            item_adapter.weight!.zero_();
            item_adapter.bias!.zero_();
            sequence_output.weight!.zero_();
            sequence_output.bias!.zero_();
        }

        position_embeddings = nn.Parameter(randn(MaxHistory, hidden).mul_(0.02));
        recency_logits = nn.Parameter(arange(MaxHistory, dtype: ScalarType.Float32).mul_(Math.Log(InitialRecencyDecay)));
        log_scale = nn.Parameter(tensor(Math.Log(1 / InitialTemperature), dtype: ScalarType.Float32));
        var heads = hidden % 6 == 0 ? 6 : 4;
        sequence_layer = new BertLayer(new BertConfig
        {
            HiddenSize = hidden,
            NumAttentionHeads = heads,
            IntermediateSize = 2 * hidden,
            HiddenDropoutProb = dropoutProbability,
            AttentionProbsDropoutProb = dropoutProbability,
        });
        RegisterComponents();
    }

    public int Hidden { get; }

    /// <summary>The softmax's inverse temperature, learned.</summary>
    public Tensor Scale => log_scale.exp();

    /// <summary>Unit-length item-tower vectors for text vectors [..., hidden] of the items <paramref name="items"/> [...].</summary>
    public Tensor Items(Tensor textVectors, Tensor items)
    {
        using var adapted = item_adapter.call(textVectors);
        using var sum = adapted.add(textVectors, KeptScalars.One);
        if (item_embeddings is not null)
        {
            using var known = items.clamp(0, item_embeddings.weight!.shape[0] - 1);
            using var own = item_embeddings.call(known);
            using var hasOwn = items.ge(0).unsqueeze(-1).to(own.dtype);
            // In training an item's own vector is dropped half the time, so the text path alone must still rank it:
            // it keeps the vectors from memorising the training sequences, and an item added later has text only.
            using var keep = Bert.Dropout.Apply(ones(own.shape[..^1].Append(1L).ToArray(), own.dtype, own.device), ItemIdDropout, training);
            using var kept = own.mul(keep).mul_(hasOwn);
            sum.add_(kept, KeptScalars.One);
        }

        return nn.functional.normalize(sum, p: 2, dim: -1);
    }

    /// <param name="history">[batch, length, hidden] text vectors of the user's recent items, newest first.</param>
    /// <param name="historyItems">[batch, length] the items, newest first; <see cref="Padding"/> pads, <see cref="TextOnly"/> marks a
    /// place read by its text alone, and every row has at least one place that is not padding.</param>
    /// <returns>Unit-length user vectors [batch, hidden].</returns>
    public override Tensor forward(Tensor history, Tensor historyItems)
    {
        var length = history.shape[1];
        using var mask = historyItems.ne(Padding).to(ScalarType.Float32);
        using var items = Items(history, historyItems);
        using var padding = mask.eq(0);
        using var recency = recency_logits.narrow(0, 0, length);
        using var masked = recency.unsqueeze(0).masked_fill(padding, float.NegativeInfinity);
        using var weights = masked.softmax(1);
        using var weighted = weights.unsqueeze(2).mul(items);
        using var recent = weighted.sum(1);

        using var positions = position_embeddings.narrow(0, 0, length);
        using var placed = items.add(positions.unsqueeze(0), KeptScalars.One);
        using var bias = zeros_like(mask).masked_fill_(padding, PaddingBias).view(mask.shape[0], 1, 1, length);
        using var contextual = sequence_layer.call(placed, bias);
        using var newest = contextual.select(1, 0);
        using var correction = sequence_output.call(newest);
        using var user = recent.add(correction, KeptScalars.One);
        return nn.functional.normalize(user, p: 2, dim: -1);
    }
}
