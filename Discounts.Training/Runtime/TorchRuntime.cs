using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using TorchSharp;
using static TorchSharp.torch;

namespace Discounts.Training.Runtime;

/// <summary>
/// Initialises torch once per process: loads the native backend, picks the device, sets the thread count, and
/// logs what it chose. Everything that runs a model asks it for the device.
/// </summary>
public sealed partial class TorchRuntime
{
    private readonly TrainingOptions options;
    private readonly ILogger<TorchRuntime> logger;
    private readonly Lazy<Device> device;

    public TorchRuntime(IOptions<TrainingOptions> options, ILogger<TorchRuntime>? logger = null)
    {
        this.options = options.Value;
        this.logger = logger ?? NullLogger<TorchRuntime>.Instance;
        device = new Lazy<Device>(Initialise, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>The device models run on; the first call initialises torch.</summary>
    public Device Device => device.Value;

    public bool IsInitialised => device.IsValueCreated;

    /// <summary>True when the CUDA backend is present and sees a GPU.</summary>
    public static bool IsCudaAvailable()
    {
        try
        {
            return cuda.is_available();
        }
        catch (NotSupportedException)
        {
            // The CPU-only build has no CUDA backend to load.
            return false;
        }
    }

    private Device Initialise()
    {
        var waitPolicy = Runtime.OpenMpWaitPolicy.Apply(options.OpenMpWaitPolicy);
        var requested = options.Device.Trim().ToLowerInvariant();
        var useCuda = requested switch
        {
            "cpu" => false,
            "cuda" => IsCudaAvailable()
                ? true
                : throw new InvalidOperationException("Training:Device is 'cuda' but torch sees no CUDA device."),
            _ => IsCudaAvailable(),
        };
        var chosen = useCuda ? CUDA : CPU;
        try
        {
            InitializeDeviceType(chosen.type);
        }
        catch (NotSupportedException error)
        {
            throw new InvalidOperationException(NativeBackendDiagnostics.DescribeLoadFailure(), error);
        }
        if (options.Threads > 0) set_num_threads(options.Threads);
        LogInitialised(logger, requested, chosen.ToString(), get_num_threads(), waitPolicy, __version__);
        return chosen;
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Torch ready: requested device {Requested}, using {Device}, {Threads} CPU threads (OpenMP wait {WaitPolicy}), libtorch {LibTorchVersion}")]
    private static partial void LogInitialised(ILogger logger, string requested, string device, int threads, string waitPolicy, string libTorchVersion);
}
