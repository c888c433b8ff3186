using Discounts.Training.Bert;
using Discounts.Training.Tokenization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Discounts.Training.Scorer;

/// <summary>
/// The scorer: one BERT encoder shared by the user tower and the item tower (mean pooling, unit length), and a
/// two-label head (does not buy / buys) over [u, v, |u−v|, u∘v]. Keys are <c>bert.*</c> (Hugging Face BertModel)
/// and <c>classifier.*</c>.
/// </summary>
public sealed class TwoTowerModel : nn.Module<BertInputs, BertInputs, Tensor>
{
    public const int BuyLabel = 1;

    private readonly BertModel bert;
    private readonly Linear classifier;
    private readonly Linear calibration;
    private readonly double dropoutProbability;

    public TwoTowerModel(BertModel encoder, double dropoutProbability) : base(nameof(TwoTowerModel))
    {
        bert = encoder;
        classifier = nn.Linear(4L * encoder.Config.HiddenSize, 2);
        // Platt scaling of the buy margin, fitted after training and never by the optimiser: identity until then.
        calibration = nn.Linear(1, 1);
        this.dropoutProbability = dropoutProbability;
        InitialiseHeadAsCosine();
        Calibrate(1.0, 0.0);
        RegisterComponents();
        calibration.weight!.requires_grad = false;
        calibration.bias!.requires_grad = false;
    }

    /// <summary>Sets p(buy) = sigmoid(scale × margin + bias), where margin is the buy logit minus the other.</summary>
    public void Calibrate(double scale, double bias)
    {
        using var noGrad = no_grad();
        calibration.weight!.fill_(scale);
        calibration.bias!.fill_(bias);
    }

    /// <summary>Buy logit minus no-buy logit, [batch].</summary>
    public static Tensor Margin(Tensor logits)
    {
        using var buy = logits.select(1, BuyLabel);
        using var other = logits.select(1, 1 - BuyLabel);
        return buy.sub(other);
    }

    /// <summary>Calibrated p(buy), [batch].</summary>
    public Tensor BuyProbability(Tensor logits)
    {
        using var margin = Margin(logits);
        using var column = margin.unsqueeze(1);
        using var scaled = calibration.call(column);
        using var flat = scaled.squeeze(1);
        return flat.sigmoid();
    }

    /// <summary>
    /// The head as plain numbers for serving: the margin's weights over [u, v, |u−v|, u∘v] (buy row minus the other),
    /// its bias, and the calibration's scale and bias, so p(buy) = sigmoid(scale × (w·x + b) + offset).
    /// </summary>
    public (float[] MarginWeights, float MarginBias, float Scale, float Offset) ExportHead()
    {
        using var noGrad = no_grad();
        using var weights = classifier.weight!.detach().to(ScalarType.Float32).cpu();
        using var biases = classifier.bias!.detach().to(ScalarType.Float32).cpu();
        using var scale = calibration.weight!.detach().to(ScalarType.Float32).cpu();
        using var offset = calibration.bias!.detach().to(ScalarType.Float32).cpu();
        var w = weights.data<float>().ToArray();
        var b = biases.data<float>().ToArray();
        var width = 4 * HiddenSize;
        var margin = new float[width];
        for (var i = 0; i < width; i++)
        {
            margin[i] = w[BuyLabel * width + i] - w[(1 - BuyLabel) * width + i];
        }

        return (margin, b[BuyLabel] - b[1 - BuyLabel], scale.data<float>()[0], offset.data<float>()[0]);
    }

    public BertModel Encoder => bert;

    public int HiddenSize => bert.Config.HiddenSize;

    /// <summary>Mean-pooled, unit-length sentence vectors: [batch, hidden].</summary>
    public Tensor Encode(BertInputs inputs)
    {
        var (lastHiddenState, pooled) = bert.call(inputs.InputIds, inputs.AttentionMask, inputs.TokenTypeIds);
        using (lastHiddenState)
        using (pooled)
        {
            return MeanPooling.Pool(lastHiddenState, inputs.AttentionMask, normalise: true);
        }
    }

    /// <summary>Logits [batch, 2] for paired rows of user and item vectors.</summary>
    public Tensor Head(Tensor users, Tensor items)
    {
        using var difference = users.sub(items);
        using var absolute = difference.abs();
        using var product = users.mul(items);
        using var features = cat([users, items, absolute, product], 1);
        using var dropped = Bert.Dropout.Apply(features, dropoutProbability, training);
        return classifier.call(dropped);
    }

    public override Tensor forward(BertInputs users, BertInputs items)
    {
        using var u = Encode(users);
        using var v = Encode(items);
        return Head(u, v);
    }

    /// <summary>Freezes the word/position/type embeddings and the lowest <paramref name="layers"/> transformer blocks.</summary>
    public void Freeze(bool embeddings, int layers)
    {
        foreach (var (name, parameter) in bert.named_parameters())
        {
            var frozen = (embeddings && name.StartsWith("embeddings.", StringComparison.Ordinal))
                         || Enumerable.Range(0, layers).Any(n => name.StartsWith($"encoder.layer.{n}.", StringComparison.Ordinal));
            if (frozen) parameter.requires_grad = false;
        }
    }

    /// <summary>
    /// The head starts as a scaled cosine similarity (buy logit = 5·u∘v summed − 2), so an untrained scorer already ranks
    /// like the sentence-embedding model it was built from and fine-tuning starts from a sensible point, not a random one.
    /// </summary>
    private void InitialiseHeadAsCosine()
    {
        var hidden = bert.Config.HiddenSize;
        using var noGrad = no_grad();
        classifier.weight!.zero_();
        classifier.bias!.zero_();
        using var buyRow = classifier.weight[BuyLabel];
        using var productBlock = buyRow.narrow(0, 3L * hidden, hidden);
        productBlock.fill_(5.0);
        using var buyBias = classifier.bias[BuyLabel];
        buyBias.fill_(-2.0);
    }
}
