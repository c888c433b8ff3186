using System.Threading.Channels;
using Discounts.Core.Data;
using Discounts.Core.Domain;
using Discounts.Core.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Discounts.Core.Serving;

/// <summary>
/// Quoted offers are written by one writer in group commits: every quote waiting when a write starts goes into the
/// next transaction, and each is answered only once its own transaction has committed. So an answered offer is on
/// disk before the shop can redeem it, even if the process is killed right after, while a burst of quotes shares
/// one commit instead of queueing for one each.
/// </summary>
public sealed partial class OfferLog : IDisposable
{
    /// <summary>Offers per transaction at most; under a burst the rest go into the next one.</summary>
    private const int MaxBatchOffers = 5_000;

    private readonly Channel<PendingOffers> queue = Channel.CreateUnbounded<PendingOffers>(new UnboundedChannelOptions { SingleReader = true });
    private readonly IServiceScopeFactory scopes;
    private readonly ILogger<OfferLog> logger;
    private readonly System.Diagnostics.Metrics.Counter<long> written;
    private readonly System.Diagnostics.Metrics.Histogram<long> batchSizes;
    private readonly Lazy<Thread> writer;

    public OfferLog(IServiceScopeFactory scopes, DiscountsMetrics metrics, ILogger<OfferLog> logger)
    {
        this.scopes = scopes;
        this.logger = logger;
        written = metrics.Meter.CreateCounter<long>("discounts.offers.written", "{offer}", "Quoted offers written to the database");
        batchSizes = metrics.Meter.CreateHistogram<long>("discounts.offers.batch_size", "{offer}", "Offers committed in one transaction");
        // Its own thread: SQLite's calls block, and a commit waits for the disk.
        writer = new Lazy<Thread>(() =>
        {
            var thread = new Thread(WriteUntilCompleted) { IsBackground = true, Name = "offer writer" };
            thread.Start();
            return thread;
        });
    }

    /// <summary>Completes once <paramref name="offers"/> are committed; fails with the write's error if they could not be.</summary>
    public Task WriteAsync(IReadOnlyList<Offer> offers)
    {
        _ = writer.Value;
        var pending = new PendingOffers(offers, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!queue.Writer.TryWrite(pending)) throw new ObjectDisposedException(nameof(OfferLog), "The host is stopping; no more offers are written.");
        return pending.Done.Task;
    }

    public void Dispose()
    {
        queue.Writer.TryComplete();
        if (writer.IsValueCreated) writer.Value.Join(TimeSpan.FromSeconds(30));
    }

    private void WriteUntilCompleted()
    {
        var reader = queue.Reader;
        while (reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
        {
            var batch = new List<PendingOffers>();
            var offers = 0;
            while (offers < MaxBatchOffers && reader.TryRead(out var pending))
            {
                batch.Add(pending);
                offers += pending.Offers.Count;
            }

            Write(batch);
        }
    }

    /// <summary>One transaction for the batch; if it fails, each quote's offers alone, so one bad row fails only its own quote.</summary>
    private void Write(List<PendingOffers> batch)
    {
        try
        {
            WriteTransaction(batch.SelectMany(p => p.Offers).ToList());
            foreach (var pending in batch) pending.Done.TrySetResult();
            return;
        }
        catch (Exception error) when (batch.Count > 1)
        {
            LogBatchRetried(logger, error, batch.Count);
        }
        catch (Exception error)
        {
            batch[0].Done.TrySetException(error);
            return;
        }

        foreach (var pending in batch)
        {
            try
            {
                WriteTransaction(pending.Offers);
                pending.Done.TrySetResult();
            }
            catch (Exception error)
            {
                pending.Done.TrySetException(error);
            }
        }
    }

    private void WriteTransaction(IReadOnlyList<Offer> offers)
    {
        using var scope = scopes.CreateScope();
        OfferWriter.Write(scope.ServiceProvider.GetRequiredService<DiscountsDbContext>(), offers);
        written.Add(offers.Count);
        batchSizes.Record(offers.Count);
    }

    private sealed record PendingOffers(IReadOnlyList<Offer> Offers, TaskCompletionSource Done);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Writing a batch of {Quotes} quotes' offers failed; writing each quote's alone")]
    private static partial void LogBatchRetried(ILogger logger, Exception error, int quotes);
}
