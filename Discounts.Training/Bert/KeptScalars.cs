using TorchSharp;

namespace Discounts.Training.Bert;

/// <summary>
/// Scalars held for the life of the process. TorchSharp's tensor-and-tensor overloads without an explicit alpha make a
/// temporary <see cref="Scalar"/> that nothing keeps alive during the native call, so its finalizer may free it while
/// libtorch still reads it (a CI fine-tune failed once inside THSTensor_add with "toFloat: Expected false to be true").
/// A scalar rooted in a static field is never finalized.
/// </summary>
internal static class KeptScalars
{
    public static readonly Scalar One = 1;
}
