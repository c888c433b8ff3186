using static TorchSharp.torch;

namespace Discounts.Training.Bert;

/// <summary>
/// Functional dropout instead of dropout modules: they hold no parameters (so the HF keys are unaffected), and in
/// eval mode nothing is called at all.
/// </summary>
internal static class Dropout
{
    /// <summary>Returns a new handle the caller owns, whether or not dropout applied.</summary>
    public static Tensor Apply(Tensor input, double probability, bool training) =>
        training && probability > 0 ? nn.functional.dropout(input, probability, training: true) : input.alias();
}
