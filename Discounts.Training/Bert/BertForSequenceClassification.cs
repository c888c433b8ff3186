using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Discounts.Training.Bert;

/// <summary>
/// BERT with a classification head over the pooled output, keyed like Hugging Face's
/// <c>BertForSequenceClassification</c> (<c>bert.*</c>, <c>classifier.*</c>).
/// </summary>
public sealed class BertForSequenceClassification : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    private readonly BertModel bert;
    private readonly Linear classifier;
    private readonly double dropoutProbability;

    public BertForSequenceClassification(BertModel encoder, int labelCount) : base(nameof(BertForSequenceClassification))
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(labelCount, 2);
        bert = encoder;
        classifier = nn.Linear(encoder.Config.HiddenSize, labelCount);
        dropoutProbability = encoder.Config.HiddenDropoutProb;
        LabelCount = labelCount;
        RegisterComponents();
    }

    public BertModel Encoder => bert;

    public int LabelCount { get; }

    /// <returns>[batch, labels] logits.</returns>
    public override Tensor forward(Tensor inputIds, Tensor attentionMask, Tensor tokenTypeIds)
    {
        var (lastHiddenState, pooled) = bert.call(inputIds, attentionMask, tokenTypeIds);
        using (lastHiddenState)
        using (pooled)
        {
            using var dropped = Dropout.Apply(pooled, dropoutProbability, training);
            return classifier.call(dropped);
        }
    }
}
