using Discounts.Training.Weights;
using static TorchSharp.torch;

namespace Discounts.Training.Scorer;

/// <summary>
/// The base scorer's user tower outside the web host (the simulate-discounts verb): the pretrained encoder as shipped,
/// unit-length mean-pooled sentence vectors, the same tower the serving scorer starts from.
/// </summary>
public sealed class BaseTextEmbedder : IDisposable
{
    private const int MaxLength = 48;
    private readonly ScorerModel scorer;

    public BaseTextEmbedder(string dataDirectory)
    {
        var bert = new BaseModelStore(dataDirectory).Load();
        scorer = new ScorerModel(new TwoTowerModel(bert.Model, dropoutProbability: 0), bert.Tokenizer, CPU);
        scorer.Model.eval();
    }

    public IReadOnlyList<float[]> Embed(IReadOnlyList<string> texts)
    {
        var flat = ScorerInference.Embed(scorer, texts, MaxLength);
        var hidden = scorer.Model.HiddenSize;
        return Enumerable.Range(0, texts.Count).Select(i => flat.AsSpan(i * hidden, hidden).ToArray()).ToArray();
    }

    public void Dispose() => scorer.Dispose();
}
