using Microsoft.Extensions.Hosting;

namespace Discounts.Training.Runtime;

/// <summary>Initialises torch when the host starts, so a broken native backend fails the start, not a request.</summary>
internal sealed class TorchRuntimeStartup(TorchRuntime runtime) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _ = runtime.Device;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
