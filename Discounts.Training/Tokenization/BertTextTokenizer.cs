using System.Security.Cryptography;
using System.Text;
using Microsoft.ML.Tokenizers;

namespace Discounts.Training.Tokenization;

/// <summary>
/// WordPiece tokenisation for BERT (Microsoft.ML.Tokenizers' <see cref="BertTokenizer"/>), with pair encoding,
/// truncation and padding into a <see cref="TokenizedBatch"/>.
/// </summary>
public sealed class BertTextTokenizer
{
    private readonly BertTokenizer tokenizer;

    private BertTextTokenizer(BertTokenizer tokenizer, string fingerprint)
    {
        this.tokenizer = tokenizer;
        Fingerprint = fingerprint;
    }

    /// <summary>
    /// Names the vocabulary and casing: two tokenizers with the same fingerprint turn every text into the same ids, so
    /// vectors cached under it stay valid (see the item embedding store).
    /// </summary>
    public string Fingerprint { get; }

    public int ClassificationTokenId => tokenizer.ClassificationTokenId;

    public int SeparatorTokenId => tokenizer.SeparatorTokenId;

    public int PaddingTokenId => tokenizer.PaddingTokenId;

    public int UnknownTokenId => tokenizer.UnknownTokenId;

    public static BertTextTokenizer FromVocabFile(string vocabPath, bool lowerCase = true) =>
        FromVocab(File.ReadAllBytes(vocabPath), lowerCase);

    /// <param name="vocab">The bytes of a <c>vocab.txt</c>: one token per line, the line number is the id.</param>
    /// <param name="lowerCase">True for uncased checkpoints (lower-case and strip accents), false for cased ones.</param>
    public static BertTextTokenizer FromVocab(byte[] vocab, bool lowerCase = true)
    {
        // Vocabularies written on Windows end lines with CRLF; read as-is every token would carry a '\r' and
        // nearly every word would become [UNK]. Normalise to LF before the tokenizer sees the file.
        var text = Encoding.UTF8.GetString(vocab).Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n');
        var normalised = Encoding.UTF8.GetBytes(text);
        using var stream = new MemoryStream(normalised);
        var options = new BertOptions
        {
            LowerCaseBeforeTokenization = lowerCase,
            // Uncased BERT vocabularies hold no accented letters: "café" must become "cafe", not [UNK].
            RemoveNonSpacingMarks = lowerCase,
        };
        var fingerprint = $"{Convert.ToHexStringLower(SHA256.HashData(normalised))}-{(lowerCase ? "uncased" : "cased")}";
        return new BertTextTokenizer(BertTokenizer.Create(stream, options), fingerprint);
    }

    /// <summary>WordPiece ids of one text, without special tokens.</summary>
    public IReadOnlyList<int> TokenIds(string text) => tokenizer.EncodeToIds(text, addSpecialTokens: false);

    /// <summary>WordPiece tokens of one text, without special tokens.</summary>
    public IReadOnlyList<string> Tokens(string text) =>
        tokenizer.EncodeToTokens(text, out _, considerPreTokenization: true, considerNormalization: true)
            .Select(token => token.Value).Where(IsNotSpecial).ToList();

    private bool IsNotSpecial(string token) =>
        token != tokenizer.ClassificationToken && token != tokenizer.SeparatorToken;

    /// <summary>Encodes single texts as <c>[CLS] text [SEP]</c>.</summary>
    public TokenizedBatch EncodeBatch(IReadOnlyList<string> texts, int maxLength, bool padToMaxLength = false) =>
        Encode(texts, null, maxLength, padToMaxLength);

    /// <summary>
    /// Encodes pairs as <c>[CLS] first [SEP] second [SEP]</c> with token type 0 up to the first separator and 1
    /// after it. Too-long pairs are truncated longest-first: a token is dropped from whichever text is longer.
    /// </summary>
    public TokenizedBatch EncodePairs(IReadOnlyList<string> first, IReadOnlyList<string> second, int maxLength,
        bool padToMaxLength = false)
    {
        if (first.Count != second.Count)
            throw new ArgumentException($"{first.Count} first texts but {second.Count} second texts.", nameof(second));
        return Encode(first, second, maxLength, padToMaxLength);
    }

    private TokenizedBatch Encode(IReadOnlyList<string> first, IReadOnlyList<string>? second, int maxLength,
        bool padToMaxLength)
    {
        ArgumentOutOfRangeException.ThrowIfZero(first.Count);
        var specialTokens = second is null ? 2 : 3;
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, specialTokens + 1);

        var rows = new List<(List<int> Ids, int FirstSegmentLength)>(first.Count);
        for (var row = 0; row < first.Count; row++)
        {
            var a = TokenIds(first[row]).ToList();
            var b = second is null ? null : TokenIds(second[row]).ToList();
            TruncateLongestFirst(a, b, maxLength - specialTokens);
            var ids = new List<int>(maxLength) { ClassificationTokenId };
            ids.AddRange(a);
            ids.Add(SeparatorTokenId);
            var firstSegmentLength = ids.Count;
            if (b is not null)
            {
                ids.AddRange(b);
                ids.Add(SeparatorTokenId);
            }
            rows.Add((ids, firstSegmentLength));
        }

        var length = padToMaxLength ? maxLength : rows.Max(r => r.Ids.Count);
        var inputIds = new long[rows.Count * length];
        var attentionMask = new long[rows.Count * length];
        var tokenTypeIds = new long[rows.Count * length];
        Array.Fill(inputIds, PaddingTokenId);
        for (var row = 0; row < rows.Count; row++)
        {
            var (ids, firstSegmentLength) = rows[row];
            var offset = row * length;
            for (var position = 0; position < ids.Count; position++)
            {
                inputIds[offset + position] = ids[position];
                attentionMask[offset + position] = 1;
                tokenTypeIds[offset + position] = position < firstSegmentLength ? 0 : 1;
            }
        }
        return new TokenizedBatch(rows.Count, length, inputIds, attentionMask, tokenTypeIds);
    }

    private static void TruncateLongestFirst(List<int> first, List<int>? second, int budget)
    {
        while (first.Count + (second?.Count ?? 0) > budget)
        {
            if (second is not null && second.Count > first.Count) second.RemoveAt(second.Count - 1);
            else first.RemoveAt(first.Count - 1);
        }
    }
}
