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
    /// <summary>Which state of the live document counts (<see cref="TextCorpusState.VocabularyVersion"/>) weighted the keywords.</summary>
    public long VocabularyVersion { get; set; }
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

/// <summary>
/// A term's live document count: in how many stored texts it occurs, counted since the last text model fit and
/// seeded by it. Every node reads and writes the same rows, so a word that arrives on one node weighs the same on all.
/// </summary>
public sealed class TextTerm
{
    public required string Term { get; set; }
    public int Documents { get; set; }
    /// <summary>One bit per user-id hash: the bits set are a lower bound on the distinct users who wrote the term, with no user id stored.</summary>
    public long UserBits { get; set; }
    /// <summary>In the vocabulary: its counts are trusted for IDF. Until then it is weighted as a term seen once.</summary>
    public bool Admitted { get; set; }
    public DateTime UpdatedAt { get; set; }
}

/// <summary>The one row that says how far the live document counts have read the texts, and which vocabulary they make.</summary>
public sealed class TextCorpusState
{
    public const int SingletonId = 1;

    public int Id { get; set; } = SingletonId;
    /// <summary>Every text with an id up to this one is counted in <see cref="TextTerm"/>; counting claims a range by moving it.</summary>
    public long CountedThroughTextId { get; set; }
    /// <summary>How many texts the counts cover: the N of IDF.</summary>
    public int Documents { get; set; }
    /// <summary>Grows when a fit reseeds the counts or a new term enters the vocabulary.</summary>
    public long VocabularyVersion { get; set; }
    /// <summary>Terms admitted since the last fit, held under <c>Profiles:MaxNewTerms</c>.</summary>
    public int NewTerms { get; set; }
    /// <summary>The text model whose fit seeded the counts.</summary>
    public string TextModelVersion { get; set; } = "";
    public DateTime UpdatedAt { get; set; }
}
