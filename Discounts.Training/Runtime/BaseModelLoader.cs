using Discounts.Training.Weights;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Discounts.Training.Runtime;

/// <summary>
/// Loads the base encoder on the runtime's device: the Hugging Face folder named by
/// <c>Training:BaseModelPath</c> when set, otherwise the packaged all-MiniLM-L6-v2 converted under
/// <c>&lt;data&gt;/models/base/</c>.
/// </summary>
public sealed partial class BaseModelLoader(IOptions<TrainingOptions> options, TorchRuntime runtime, ILogger<BaseModelLoader>? logger = null)
{
    private readonly ILogger logger = logger ?? NullLogger<BaseModelLoader>.Instance;

    /// <param name="dataDirectory">The storage data directory (<c>Storage:DataDirectory</c>).</param>
    public PretrainedBert Load(string dataDirectory)
    {
        var configured = options.Value.BaseModelPath;
        var bert = string.IsNullOrWhiteSpace(configured)
            ? new BaseModelStore(dataDirectory).Load(runtime.Device)
            : HuggingFaceBertFolder.Load(configured, runtime.Device);
        LogLoaded(logger, bert.Folder, bert.Config.NumHiddenLayers, bert.Config.HiddenSize, bert.WeightsSha256);
        return bert;
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Base model loaded from {Folder}: {Layers} layers, hidden size {HiddenSize}, weights sha256 {Sha256}")]
    private static partial void LogLoaded(ILogger logger, string folder, int layers, int hiddenSize, string sha256);
}
