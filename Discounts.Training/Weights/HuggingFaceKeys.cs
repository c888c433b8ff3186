namespace Discounts.Training.Weights;

/// <summary>
/// Maps checkpoint keys onto <see cref="Bert.BertModel"/> keys. Older BERT checkpoints (the original Google
/// conversions, BertForPreTraining) prefix the encoder with <c>bert.</c>, name LayerNorm parameters
/// <c>gamma</c>/<c>beta</c>, carry pre-training heads under <c>cls.</c> and store a <c>position_ids</c> buffer.
/// </summary>
public static class HuggingFaceKeys
{
    private const string EncoderPrefix = "bert.";
    private const string PreTrainingHeadPrefix = "cls.";

    /// <returns>The model key, or null for a key that carries nothing the encoder uses.</returns>
    public static string? ToModelKey(string checkpointKey)
    {
        var key = checkpointKey.StartsWith(EncoderPrefix, StringComparison.Ordinal) ? checkpointKey[EncoderPrefix.Length..] : checkpointKey;
        if (key.StartsWith(PreTrainingHeadPrefix, StringComparison.Ordinal)) return null;
        if (key.EndsWith("position_ids", StringComparison.Ordinal)) return null;
        if (key.Contains("LayerNorm.", StringComparison.Ordinal))
        {
            if (key.EndsWith(".gamma", StringComparison.Ordinal)) return key[..^".gamma".Length] + ".weight";
            if (key.EndsWith(".beta", StringComparison.Ordinal)) return key[..^".beta".Length] + ".bias";
        }
        return key;
    }

    /// <summary>Renames every key; two checkpoint keys landing on one model key is an error.</summary>
    public static Dictionary<string, T> ToModelKeys<T>(IEnumerable<KeyValuePair<string, T>> checkpoint, string source)
    {
        var renamed = new Dictionary<string, T>(StringComparer.Ordinal);
        var origins = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (checkpointKey, value) in checkpoint)
        {
            if (ToModelKey(checkpointKey) is not { } modelKey) continue;
            if (!origins.TryAdd(modelKey, checkpointKey))
                throw new WeightMismatchException($"{source}: '{origins[modelKey]}' and '{checkpointKey}' both map to '{modelKey}'.");
            renamed[modelKey] = value;
        }
        return renamed;
    }
}
