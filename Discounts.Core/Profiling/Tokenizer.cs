using System.Text;

namespace Discounts.Core.Profiling;

/// <summary>
/// Splits cleaned text into the terms TF-IDF and LDA count: lower-cased words of letters and digits, without stop
/// words, numbers or placeholders; runs of CJK characters, which have no spaces, become overlapping character bigrams
/// ("保湿面霜" → "保湿", "湿面", "面霜"), the usual unit for Chinese and Japanese retrieval.
/// </summary>
public static class Tokenizer
{
    private static readonly HashSet<string> StopWords = new(StringComparer.Ordinal)
    {
        "a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and", "any", "are", "as", "at",
        "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "could", "did", "do",
        "does", "doing", "don", "down", "during", "each", "even", "ever", "every", "few", "for", "from", "further", "get",
        "got", "had", "has", "have", "having", "he", "her", "here", "hers", "herself", "him", "himself", "his", "how", "i",
        "if", "im", "in", "into", "is", "isn", "it", "its", "itself", "just", "ll", "me", "more", "most", "much", "my",
        "myself", "no", "nor", "not", "now", "of", "off", "on", "once", "one", "only", "or", "other", "our", "ours",
        "ourselves", "out", "over", "own", "re", "really", "same", "she", "should", "so", "some", "such", "than", "that",
        "the", "their", "theirs", "them", "themselves", "then", "there", "these", "they", "this", "those", "through",
        "to", "too", "under", "until", "up", "us", "ve", "very", "was", "wasn", "we", "were", "what", "when", "where",
        "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your", "yours", "yourself",
        "yourselves", "didn", "doesn", "won", "wouldn", "couldn", "shouldn", "aren", "weren", "hasn", "haven", "hadn",
        "ive", "id", "dont", "cant", "thats", "use", "used", "using", "two", "make", "made", "way", "well", "still",
        "may", "might", "must", "shall", "since", "though", "yet", "let", "lets", "isnt", "wasnt", "doesnt", "didnt", "wont",
        "arent", "werent", "hasnt", "havent", "wouldnt", "couldnt", "shouldnt", "youre", "theyre",
    };

    private static readonly System.Buffers.SearchValues<char> AsciiDigits = System.Buffers.SearchValues.Create("0123456789");

    public static List<string> Tokenize(string text)
    {
        // The scrubber's placeholders say that something was removed; they are not words the user chose.
        text = text.Replace(PiiScrubber.EmailPlaceholder, " ", StringComparison.Ordinal)
            .Replace(PiiScrubber.PhonePlaceholder, " ", StringComparison.Ordinal)
            .Replace(PiiScrubber.CardPlaceholder, " ", StringComparison.Ordinal);
        var tokens = new List<string>();
        var word = new StringBuilder();
        var cjk = new List<string>();
        // Lower-cased runes go through a stack buffer: a string per character made tokenising the costliest step of scoring.
        Span<char> lower = stackalloc char[2];
        foreach (var rune in text.EnumerateRunes())
        {
            if (IsCjk(rune))
            {
                FlushWord(word, tokens);
                cjk.Add(rune.ToString());
                continue;
            }

            FlushCjk(cjk, tokens);
            if (Rune.IsLetterOrDigit(rune))
            {
                word.Append(lower[..Rune.ToLowerInvariant(rune).EncodeToUtf16(lower)]);
            }
            else if (rune.Value == '\'' && word.Length > 0)
            {
                // "don't" → "dont", "women's" → "womens": the apostrophe joins, it does not split.
            }
            else
            {
                FlushWord(word, tokens);
            }
        }

        FlushWord(word, tokens);
        FlushCjk(cjk, tokens);
        return tokens;
    }

    private static void FlushWord(StringBuilder word, List<string> tokens)
    {
        if (word.Length == 0)
        {
            return;
        }

        var term = word.ToString();
        word.Clear();
        if (term.Length >= 2 && term.Length <= Data.Limits.TermLength && !StopWords.Contains(term) && term.AsSpan().ContainsAnyExcept(AsciiDigits))
        {
            tokens.Add(term);
        }
    }

    private static void FlushCjk(List<string> run, List<string> tokens)
    {
        if (run.Count == 1)
        {
            tokens.Add(run[0]);
        }

        for (var i = 0; i + 1 < run.Count; i++)
        {
            tokens.Add(run[i] + run[i + 1]);
        }

        run.Clear();
    }

    /// <summary>Han, Hiragana, Katakana and Hangul: scripts written without spaces between words (Hangul uses spaces, but bigrams do no harm there).</summary>
    private static bool IsCjk(Rune rune)
    {
        var v = rune.Value;
        return v is >= 0x4E00 and <= 0x9FFF        // CJK unified ideographs
            or >= 0x3400 and <= 0x4DBF              // extension A
            or >= 0x20000 and <= 0x2FA1F            // extensions B-F and compatibility supplement
            or >= 0xF900 and <= 0xFAFF              // compatibility ideographs
            or >= 0x3040 and <= 0x30FF              // Hiragana and Katakana
            or >= 0xAC00 and <= 0xD7AF;             // Hangul syllables
    }
}
