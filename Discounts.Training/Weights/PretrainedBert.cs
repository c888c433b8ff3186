using Discounts.Training.Bert;
using Discounts.Training.Tokenization;

namespace Discounts.Training.Weights;

/// <summary>A loaded encoder with the tokenizer that belongs to it. Disposing it frees the model's tensors.</summary>
public sealed class PretrainedBert(BertModel model, BertTextTokenizer tokenizer, string folder, string weightsSha256) : IDisposable
{
    public BertModel Model { get; } = model;

    public BertTextTokenizer Tokenizer { get; } = tokenizer;

    public BertConfig Config => Model.Config;

    /// <summary>The Hugging Face folder the model came from.</summary>
    public string Folder { get; } = folder;

    /// <summary>Lower-case hex SHA-256 of the weights file, to record which weights a result came from.</summary>
    public string WeightsSha256 { get; } = weightsSha256;

    public void Dispose() => Model.Dispose();
}
