using static TorchSharp.torch;

namespace Discounts.Training.Tokenization;

/// <summary>
/// A padded, tokenised batch as flat row-major arrays of shape [BatchSize, SequenceLength].
/// Plain arrays so the same batch can feed TorchSharp and ONNX Runtime.
/// </summary>
public sealed record TokenizedBatch(int BatchSize, int SequenceLength, long[] InputIds, long[] AttentionMask, long[] TokenTypeIds)
{
    public long[] Shape => [BatchSize, SequenceLength];

    public bool IsPadding(int row, int position) => AttentionMask[(row * SequenceLength) + position] == 0;

    public BertInputs ToTensors(Device? device = null) => new(
        tensor(InputIds, Shape, device: device),
        tensor(AttentionMask, Shape, device: device),
        tensor(TokenTypeIds, Shape, device: device));
}

/// <summary>The three int64 tensors a BERT forward pass takes; disposing it disposes them.</summary>
public sealed record BertInputs(Tensor InputIds, Tensor AttentionMask, Tensor TokenTypeIds) : IDisposable
{
    public void Dispose()
    {
        InputIds.Dispose();
        AttentionMask.Dispose();
        TokenTypeIds.Dispose();
    }
}
