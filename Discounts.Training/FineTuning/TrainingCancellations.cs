using System.Collections.Concurrent;

using Discounts.Training.Scorer;

namespace Discounts.Training.FineTuning;

/// <summary>The cancellation switches of the runs executing in this process, so a cancel request reaches the training loop at once.</summary>
public sealed class TrainingCancellations
{
    private readonly ConcurrentDictionary<long, CancellationTokenSource> running = new();

    /// <summary>A source linked to the job's own token; dispose it when the run ends.</summary>
    public Registration Register(long runId, CancellationToken jobToken)
    {
        var source = CancellationTokenSource.CreateLinkedTokenSource(jobToken);
        running[runId] = source;
        return new Registration(this, runId, source);
    }

    /// <returns>True when the run was executing here and has been told to stop.</returns>
    public bool Cancel(long runId)
    {
        if (!running.TryGetValue(runId, out var source)) return false;
        source.Cancel();
        return true;
    }

    public sealed class Registration(TrainingCancellations owner, long runId, CancellationTokenSource source) : IDisposable
    {
        public CancellationToken Token => source.Token;

        public void Dispose()
        {
            owner.running.TryRemove(new KeyValuePair<long, CancellationTokenSource>(runId, source));
            source.Dispose();
        }
    }
}
