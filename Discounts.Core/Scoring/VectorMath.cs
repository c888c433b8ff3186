using System.Numerics;
using System.Runtime.InteropServices;

namespace Discounts.Core.Scoring;

/// <summary>
/// SIMD kernels over embedding vectors, shared by the candidate search and the scorer's managed head. Loads go through
/// references rather than sliced spans and two accumulators run side by side: with slicing's bounds checks the same
/// loops ran at about 2.5 times the cost.
/// </summary>
public static class VectorMath
{
    public static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (b.Length < a.Length)
        {
            throw new ArgumentException("The vectors differ in length.", nameof(b));
        }

        ref var x = ref MemoryMarshal.GetReference(a);
        ref var y = ref MemoryMarshal.GetReference(b);
        var width = Vector<float>.Count;
        Vector<float> first = default, second = default;
        var i = 0;
        for (; i <= a.Length - 2 * width; i += 2 * width)
        {
            first += Vector.LoadUnsafe(ref x, (nuint)i) * Vector.LoadUnsafe(ref y, (nuint)i);
            second += Vector.LoadUnsafe(ref x, (nuint)(i + width)) * Vector.LoadUnsafe(ref y, (nuint)(i + width));
        }

        var sum = Vector.Sum(first + second);
        for (; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }

    /// <summary>Σ linear[h]·item[h] + Σ absolute[h]·|user[h] − item[h]| in one pass: the item-dependent part of a pair margin.</summary>
    public static float PairMargin(ReadOnlySpan<float> linear, ReadOnlySpan<float> absolute, ReadOnlySpan<float> user, ReadOnlySpan<float> item)
    {
        if (linear.Length < item.Length || absolute.Length < item.Length || user.Length < item.Length)
        {
            throw new ArgumentException("The vectors differ in length.", nameof(item));
        }

        ref var l = ref MemoryMarshal.GetReference(linear);
        ref var a = ref MemoryMarshal.GetReference(absolute);
        ref var u = ref MemoryMarshal.GetReference(user);
        ref var v = ref MemoryMarshal.GetReference(item);
        var width = Vector<float>.Count;
        Vector<float> first = default, second = default;
        var i = 0;
        for (; i <= item.Length - 2 * width; i += 2 * width)
        {
            var near = Vector.LoadUnsafe(ref v, (nuint)i);
            var far = Vector.LoadUnsafe(ref v, (nuint)(i + width));
            first += Vector.LoadUnsafe(ref l, (nuint)i) * near + Vector.LoadUnsafe(ref a, (nuint)i) * Vector.Abs(Vector.LoadUnsafe(ref u, (nuint)i) - near);
            second += Vector.LoadUnsafe(ref l, (nuint)(i + width)) * far
                      + Vector.LoadUnsafe(ref a, (nuint)(i + width)) * Vector.Abs(Vector.LoadUnsafe(ref u, (nuint)(i + width)) - far);
        }

        var sum = Vector.Sum(first + second);
        for (; i < item.Length; i++)
        {
            sum += linear[i] * item[i] + absolute[i] * MathF.Abs(user[i] - item[i]);
        }

        return sum;
    }
}
