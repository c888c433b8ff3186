namespace Discounts.Core.Serving;

/// <summary>
/// One quote per user at a time on this node, from reading today's discount count to committing the offers: two
/// concurrent quotes for one user would otherwise both see the count below the daily cap and both discount. Striped,
/// so memory stays fixed and users who share a stripe only wait for each other's few milliseconds. Across nodes the
/// redemption's own count, under its database lock, still holds the cap.
/// </summary>
public sealed class UserQuoteLocks
{
    private const int Stripes = 1024;

    private readonly SemaphoreSlim[] stripes = Enumerable.Range(0, Stripes).Select(_ => new SemaphoreSlim(1, 1)).ToArray();

    /// <param name="userId">The shop's id of the user, so the lock is taken before anything is read.</param>
    public async Task<IDisposable> AcquireAsync(string userId, CancellationToken cancellationToken)
    {
        var stripe = stripes[(int)((uint)StringComparer.Ordinal.GetHashCode(userId) % Stripes)];
        await stripe.WaitAsync(cancellationToken);
        return new Held(stripe);
    }

    private sealed class Held(SemaphoreSlim stripe) : IDisposable
    {
        private int released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref released, 1) == 0) stripe.Release();
        }
    }
}
