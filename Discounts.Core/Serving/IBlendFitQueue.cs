namespace Discounts.Core.Serving;

/// <summary>Queues one fit of the recommendation blend for the serving scorer version; a second request while one is queued adds none.</summary>
public interface IBlendFitQueue
{
    void QueueFit();
}
