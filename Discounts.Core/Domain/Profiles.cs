namespace Discounts.Core.Domain;

/// <summary>What every later decision reads about a user; the JSON columns hold the profile's parts.</summary>
public sealed class UserProfile
{
    public long UserId { get; set; }
    public User? User { get; set; }
    /// <summary>Grows by one each time the profile is rebuilt, so caches keyed on it stay correct.</summary>
    public int Version { get; set; }
    public string KeywordsJson { get; set; } = "[]";
    public string TopicsJson { get; set; } = "[]";
    public string BehaviourJson { get; set; } = "{}";
    /// <summary>The compact rendering the scorer reads, the same in training and serving.</summary>
    public string ProfileText { get; set; } = "";
    /// <summary>Which fitted text model (vocabulary and topics) produced the keywords and topics.</summary>
    public string TextModelVersion { get; set; } = "";
    public DateTime UpdatedAt { get; set; }
}

/// <summary>A user whose text or events changed since their profile was built; the refresh job drains these.</summary>
public sealed class ProfileRefreshRequest
{
    public long UserId { get; set; }
    public DateTime RequestedAt { get; set; }
}

/// <summary>A fitted text model (vocabulary, IDF weights and LDA topics) whose files live under &lt;data&gt;/models/profiles/.</summary>
public sealed class TextModelRecord
{
    public long Id { get; set; }
    public required string Version { get; set; }
    public DateTime FittedAt { get; set; }
    public int DocumentCount { get; set; }
    public int VocabularySize { get; set; }
    public int TopicCount { get; set; }
    public string TopicsJson { get; set; } = "[]";
    public double FitSeconds { get; set; }
    public bool IsActive { get; set; }
}
