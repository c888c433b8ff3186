using Discounts.Core.Scoring;

namespace Discounts.Tests.Core.Scoring;

/// <summary>The SIMD kernels against plain loops, at lengths around every vector width (remainders included).</summary>
public sealed class VectorMathTests
{
    private static readonly int[] Lengths = [0, 1, 7, 8, 9, 15, 16, 17, 31, 33, 64, 383, 384, 385];

    private static float[] Random(Random random, int length) => Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();

    [TestCaseSource(nameof(Lengths))]
    public void Dot_WhenGivenVectorsOfAnyLength_EqualsThePlainSum(int length)
    {
        var random = new Random(length);
        var (a, b) = (Random(random, length), Random(random, length));
        var expected = 0.0;
        for (var i = 0; i < length; i++)
        {
            expected += (double)a[i] * b[i];
        }

        Assert.That(VectorMath.Dot(a, b), Is.EqualTo(expected).Within(1e-4));
    }

    [TestCaseSource(nameof(Lengths))]
    public void PairMargin_WhenGivenVectorsOfAnyLength_EqualsThePlainSum(int length)
    {
        var random = new Random(1000 + length);
        var (linear, absolute, user, item) = (Random(random, length), Random(random, length), Random(random, length), Random(random, length));
        var expected = 0.0;
        for (var i = 0; i < length; i++)
        {
            expected += (double)linear[i] * item[i] + (double)absolute[i] * Math.Abs(user[i] - item[i]);
        }

        Assert.That(VectorMath.PairMargin(linear, absolute, user, item), Is.EqualTo(expected).Within(1e-4));
    }

    [Test]
    public void PairMargin_WhenAWeightVectorIsShorterThanTheItem_Throws()
    {
        var item = new float[16];

        Assert.Throws<ArgumentException>(() => VectorMath.PairMargin(new float[8], new float[16], new float[16], item));
    }
}
