using TorchSharp;
using static TorchSharp.torch;

namespace Discounts.Training.Weights;

/// <summary>Raised when a checkpoint's keys or shapes do not match the module it is loaded into.</summary>
public sealed class WeightMismatchException(string message) : Exception(message);

/// <summary>
/// Loads named tensors into a module and fails unless every module key gets exactly one tensor of the right
/// shape and every tensor is used. (A non-strict load that matches nothing would leave random weights in place.)
/// </summary>
public static class StrictStateDict
{
    private const int KeysListed = 12;

    public static void Load(nn.Module module, IReadOnlyDictionary<string, Tensor> tensors, string source)
    {
        var expected = module.state_dict();
        var missing = expected.Keys.Where(key => !tensors.ContainsKey(key)).Order(StringComparer.Ordinal).ToList();
        var unexpected = tensors.Keys.Where(key => !expected.ContainsKey(key)).Order(StringComparer.Ordinal).ToList();
        if (missing.Count > 0 || unexpected.Count > 0)
        {
            throw new WeightMismatchException(
                $"{source} does not match the model: {missing.Count} missing key(s) [{Sample(missing)}], " +
                $"{unexpected.Count} unexpected key(s) [{Sample(unexpected)}].");
        }

        var wrongShapes = expected
            .Where(pair => !pair.Value.shape.SequenceEqual(tensors[pair.Key].shape))
            .Select(pair => $"{pair.Key}: model [{string.Join(",", pair.Value.shape)}], " +
                            $"checkpoint [{string.Join(",", tensors[pair.Key].shape)}]")
            .ToList();
        if (wrongShapes.Count > 0)
            throw new WeightMismatchException($"{source} has {wrongShapes.Count} tensor(s) of the wrong shape: {Sample(wrongShapes)}.");

        var source32 = tensors.ToDictionary(pair => pair.Key, pair => pair.Value);
        var (missingAfterLoad, unexpectedAfterLoad) = module.load_state_dict(source32, strict: true);
        if (missingAfterLoad.Count > 0 || unexpectedAfterLoad.Count > 0)
            throw new WeightMismatchException($"{source}: TorchSharp reported {missingAfterLoad.Count} missing and {unexpectedAfterLoad.Count} unexpected keys.");
    }

    private static string Sample(IReadOnlyCollection<string> keys) =>
        string.Join(", ", keys.Take(KeysListed)) + (keys.Count > KeysListed ? ", ..." : "");
}
