namespace Discounts.Core.Ranking;

/// <summary>
/// A weighted sum of several sources. Each source's scores for a history are first divided by their maximum, so the
/// weights compare sources on one scale whatever their raw units.
/// </summary>
public sealed class BlendedSource : CandidateSource
{
    private readonly ThreadLocal<float[]> buffer;

    public BlendedSource(string name, IReadOnlyList<CandidateSource> sources, IReadOnlyList<float> weights)
        : base(name, sources.Count > 0 ? sources[0].ItemCount : throw new ArgumentException("A blend needs at least one source.", nameof(sources)))
    {
        if (sources.Count != weights.Count || sources.Any(s => s.ItemCount != ItemCount))
        {
            throw new ArgumentException("Every source needs one weight and the same item count.", nameof(weights));
        }

        Sources = sources;
        Weights = weights;
        buffer = new ThreadLocal<float[]>(() => new float[ItemCount]);
    }

    public IReadOnlyList<CandidateSource> Sources { get; }

    public IReadOnlyList<float> Weights { get; }

    public override void AddScores(ReadOnlySpan<int> history, float weight, float[] scores)
    {
        var own = buffer.Value!;
        for (var s = 0; s < Sources.Count; s++)
        {
            if (Weights[s] == 0)
            {
                continue;
            }

            Array.Clear(own);
            Sources[s].AddScores(history, 1f, own);
            var max = 0f;
            foreach (var score in own)
            {
                max = Math.Max(max, score);
            }

            if (max <= 0)
            {
                continue;
            }

            var scale = weight * Weights[s] / max;
            for (var item = 0; item < own.Length; item++)
            {
                scores[item] += scale * own[item];
            }
        }
    }
}
