using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Discounts.Training.Bert;

/// <summary>Word, position and token-type embeddings, summed and normalised (HF key prefix <c>embeddings.</c>).</summary>
public sealed class BertEmbeddings : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Embedding word_embeddings;
    private readonly Embedding position_embeddings;
    private readonly Embedding token_type_embeddings;
    private readonly LayerNorm LayerNorm;
    private readonly double dropoutProbability;
    private readonly int maxPositions;

    public BertEmbeddings(BertConfig config) : base(nameof(BertEmbeddings))
    {
        word_embeddings = nn.Embedding(config.VocabSize, config.HiddenSize, padding_idx: config.PadTokenId);
        position_embeddings = nn.Embedding(config.MaxPositionEmbeddings, config.HiddenSize);
        token_type_embeddings = nn.Embedding(config.TypeVocabSize, config.HiddenSize);
        LayerNorm = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        dropoutProbability = config.HiddenDropoutProb;
        maxPositions = config.MaxPositionEmbeddings;
        RegisterComponents();
    }

    public override Tensor forward(Tensor inputIds, Tensor tokenTypeIds)
    {
        if (inputIds.shape[1] > maxPositions)
            throw new ArgumentException($"Sequences of {inputIds.shape[1]} tokens exceed the model's {maxPositions} positions.", nameof(inputIds));
        using var positions = arange(inputIds.shape[1], dtype: ScalarType.Int64, device: inputIds.device);
        using var words = word_embeddings.call(inputIds);
        using var types = token_type_embeddings.call(tokenTypeIds);
        using var positional = position_embeddings.call(positions);
        using var sum = words.add(types, KeptScalars.One);
        sum.add_(positional, KeptScalars.One);
        using var normalised = LayerNorm.call(sum);
        return Dropout.Apply(normalised, dropoutProbability, training);
    }
}
