using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Discounts.Training.Bert;

/// <summary>
/// The architecture of a BERT encoder, read from and written to a Hugging Face <c>config.json</c>.
/// Unknown fields in the file are ignored, so any BERT checkpoint's config loads.
/// </summary>
public sealed record BertConfig
{
    [JsonPropertyName("vocab_size")]
    public int VocabSize { get; init; } = 30522;

    [JsonPropertyName("hidden_size")]
    public int HiddenSize { get; init; } = 768;

    [JsonPropertyName("num_hidden_layers")]
    public int NumHiddenLayers { get; init; } = 12;

    [JsonPropertyName("num_attention_heads")]
    public int NumAttentionHeads { get; init; } = 12;

    [JsonPropertyName("intermediate_size")]
    public int IntermediateSize { get; init; } = 3072;

    [JsonPropertyName("hidden_act")]
    public string HiddenAct { get; init; } = "gelu";

    [JsonPropertyName("max_position_embeddings")]
    public int MaxPositionEmbeddings { get; init; } = 512;

    [JsonPropertyName("type_vocab_size")]
    public int TypeVocabSize { get; init; } = 2;

    [JsonPropertyName("layer_norm_eps")]
    public double LayerNormEps { get; init; } = 1e-12;

    [JsonPropertyName("hidden_dropout_prob")]
    public double HiddenDropoutProb { get; init; } = 0.1;

    [JsonPropertyName("attention_probs_dropout_prob")]
    public double AttentionProbsDropoutProb { get; init; } = 0.1;

    [JsonPropertyName("pad_token_id")]
    public int PadTokenId { get; init; }

    [JsonPropertyName("model_type")]
    public string ModelType { get; init; } = "bert";

    [JsonIgnore]
    public int HeadSize => HiddenSize / NumAttentionHeads;

    /// <summary>all-MiniLM-L6-v2: 6 layers, 384 wide, 12 heads, uncased 30,522-word vocabulary.</summary>
    public static BertConfig AllMiniLmL6V2 { get; } = new()
    {
        VocabSize = 30522,
        HiddenSize = 384,
        NumHiddenLayers = 6,
        NumAttentionHeads = 12,
        IntermediateSize = 1536,
        MaxPositionEmbeddings = 512,
        TypeVocabSize = 2,
    };

    /// <summary>A tiny configuration for tests: 2 layers, 32 wide, 4 heads.</summary>
    public static BertConfig Tiny(int vocabSize) => new()
    {
        VocabSize = vocabSize,
        HiddenSize = 32,
        NumHiddenLayers = 2,
        NumAttentionHeads = 4,
        IntermediateSize = 64,
        MaxPositionEmbeddings = 64,
        TypeVocabSize = 2,
    };

    private static readonly JsonSerializerOptions WriteOptions = new() { WriteIndented = true };

    public static BertConfig FromJsonFile(string path)
    {
        var config = JsonSerializer.Deserialize<BertConfig>(File.ReadAllText(path))
            ?? throw new InvalidDataException($"{path} holds no BERT configuration.");
        config.Validate(path);
        return config;
    }

    public void WriteJsonFile(string path) => File.WriteAllText(path, JsonSerializer.Serialize(this, WriteOptions));

    public void Validate(string source = "config")
    {
        var errors = new List<string>();
        if (VocabSize <= 0) errors.Add("vocab_size must be positive");
        if (HiddenSize <= 0) errors.Add("hidden_size must be positive");
        if (NumHiddenLayers <= 0) errors.Add("num_hidden_layers must be positive");
        if (NumAttentionHeads <= 0 || HiddenSize % NumAttentionHeads != 0)
            errors.Add("hidden_size must be a multiple of num_attention_heads");
        if (IntermediateSize <= 0) errors.Add("intermediate_size must be positive");
        if (MaxPositionEmbeddings <= 0) errors.Add("max_position_embeddings must be positive");
        if (TypeVocabSize <= 0) errors.Add("type_vocab_size must be positive");
        // The feed-forward implements the exact (erf) GELU only; a checkpoint trained with another activation
        // would load and silently give different outputs.
        if (HiddenAct is not "gelu")
            errors.Add($"hidden_act '{HiddenAct}' is not supported (only 'gelu')");
        if (errors.Count > 0)
            throw new ValidationException($"{source}: {string.Join("; ", errors)}.");
    }
}
