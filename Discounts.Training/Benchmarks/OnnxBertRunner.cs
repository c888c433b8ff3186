using Discounts.Training.Tokenization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Discounts.Training.Benchmarks;

/// <summary>
/// The reference implementation: the packaged ONNX model under ONNX Runtime, fed the same tokenised batch as the
/// TorchSharp model. Used by the parity tests and the side-by-side benchmark.
/// </summary>
public sealed class OnnxBertRunner : IDisposable
{
    private readonly InferenceSession session;
    private readonly string outputName;

    /// <param name="allowSpinning">
    /// Whether idle pool threads spin (ONNX Runtime's default) or sleep: the counterpart of OpenMP's wait policy,
    /// so both engines wait the same way in a comparison.
    /// </param>
    public OnnxBertRunner(byte[] onnxModel, int threads, bool allowSpinning = true)
    {
        using var options = new SessionOptions
        {
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", allowSpinning ? "1" : "0");
        session = new InferenceSession(onnxModel, options);
        outputName = session.OutputMetadata.Keys.FirstOrDefault(name => name.Contains("last_hidden", StringComparison.Ordinal))
            ?? session.OutputMetadata.Keys.First();
    }

    public IReadOnlyList<string> InputNames => [.. session.InputMetadata.Keys];

    /// <summary>The last hidden state, [batch, length, hidden] flattened row-major.</summary>
    public float[] LastHiddenState(TokenizedBatch batch)
    {
        int[] shape = [batch.BatchSize, batch.SequenceLength];
        var inputs = new List<NamedOnnxValue>();
        foreach (var name in session.InputMetadata.Keys)
        {
            var data = name switch
            {
                "input_ids" => batch.InputIds,
                "attention_mask" => batch.AttentionMask,
                "token_type_ids" => batch.TokenTypeIds,
                _ => throw new NotSupportedException($"The ONNX model asks for an unknown input '{name}'."),
            };
            inputs.Add(NamedOnnxValue.CreateFromTensor(name, new DenseTensor<long>(data, shape)));
        }
        using var results = session.Run(inputs, [outputName]);
        return results.First().AsTensor<float>().ToArray();
    }

    public void Dispose() => session.Dispose();
}
