using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace Discounts.Core.Profiling;

/// <summary>
/// Turns what a user typed into the text we store: markup, URLs and control characters gone, Unicode in NFKC, one
/// space between words, and personal data replaced by placeholders. Runs before storage, so nothing raw is kept.
/// </summary>
public static partial class TextCleaner
{
    public static string Clean(string? raw)
    {
        if (string.IsNullOrEmpty(raw))
        {
            return "";
        }

        // Entities are decoded twice because shops often double-escape ("&amp;lt;b&amp;gt;"); NFKC then folds
        // full-width letters and digits, so "ｊｏｈｎ＠ｅｘａｍｐｌｅ．ｃｏｍ" is caught by the e-mail rule below.
        var text = WebUtility.HtmlDecode(WebUtility.HtmlDecode(raw));
        text = text.Normalize(NormalizationForm.FormKC);
        text = ScriptOrStyle().Replace(text, " ");
        text = HtmlComment().Replace(text, " ");
        // Inline tags sit inside words and sentences ("<b>serum</b>!"); block tags separate them ("<p>a</p><p>b</p>").
        text = HtmlTag().Replace(text, tag => InlineTags.Contains(tag.Groups["name"].Value) ? "" : " ");
        text = MarkdownLink().Replace(text, "$1");
        text = RemoveControlCharacters(text);
        text = Url().Replace(text, " ");
        text = PiiScrubber.Scrub(text);
        return Whitespace().Replace(text, " ").Trim();
    }

    /// <summary>Drops control and format characters (zero-width, bidi overrides) but keeps line breaks and tabs as spaces.</summary>
    private static string RemoveControlCharacters(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (var rune in text.EnumerateRunes())
        {
            var category = Rune.GetUnicodeCategory(rune);
            if (Rune.IsWhiteSpace(rune))
            {
                builder.Append(' ');
            }
            else if (category is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate
                     or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned)
            {
                // Dropped: invisible characters that only hide or reorder text.
            }
            else
            {
                builder.Append(rune.ToString());
            }
        }

        return builder.ToString();
    }

    [GeneratedRegex(@"<(script|style)\b[^>]*>.*?(</\1\s*>|$)", RegexOptions.IgnoreCase | RegexOptions.Singleline)]
    private static partial Regex ScriptOrStyle();

    [GeneratedRegex(@"<!--.*?(-->|$)", RegexOptions.Singleline)]
    private static partial Regex HtmlComment();

    // A tag starts with a letter, "/" or "!" right after "<", so "a < b" and "<3" survive as text.
    private static readonly HashSet<string> InlineTags = new(StringComparer.OrdinalIgnoreCase)
    {
        "a", "abbr", "b", "bdi", "code", "em", "font", "i", "mark", "q", "s", "small", "span", "strong", "sub", "sup", "u",
    };

    [GeneratedRegex(@"</?(?<name>[a-zA-Z!][a-zA-Z0-9-]*)[^<>]*>?")]
    private static partial Regex HtmlTag();

    [GeneratedRegex(@"\[([^\]]{0,200})\]\([^)\s]{0,2000}\)")]
    private static partial Regex MarkdownLink();

    [GeneratedRegex(@"\b(?:(?:https?|ftp)://|www\.)[^\s<>""]+", RegexOptions.IgnoreCase)]
    private static partial Regex Url();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}

/// <summary>Replaces e-mail addresses, card numbers (Luhn-valid) and phone numbers with placeholders.</summary>
public static partial class PiiScrubber
{
    public const string EmailPlaceholder = "[email]";
    public const string CardPlaceholder = "[card]";
    public const string PhonePlaceholder = "[phone]";

    public static string Scrub(string text)
    {
        text = Email().Replace(text, EmailPlaceholder);
        // Cards before phones: a card number is also a long run of digits.
        text = DigitRun().Replace(text, match =>
        {
            var digits = OnlyDigits(match.Value);
            if (digits.Length is >= 13 and <= 19 && PassesLuhn(digits))
            {
                return CardPlaceholder;
            }

            return !Date().IsMatch(match.Value) && LooksLikePhone(match.Value, digits) ? PhonePlaceholder : match.Value;
        });
        return text;
    }

    /// <summary>The Luhn checksum every payment card number carries.</summary>
    public static bool PassesLuhn(string digits)
    {
        var sum = 0;
        var doubleIt = false;
        for (var i = digits.Length - 1; i >= 0; i--)
        {
            var d = digits[i] - '0';
            if (d is < 0 or > 9)
            {
                return false;
            }

            if (doubleIt)
            {
                d *= 2;
                if (d > 9)
                {
                    d -= 9;
                }
            }

            sum += d;
            doubleIt = !doubleIt;
        }

        return sum % 10 == 0;
    }

    /// <summary>
    /// 7 to 15 digits (the E.164 range), written with a leading +, separators, or at least 9 digits: "call 0151 2345 678"
    /// is a phone, "under 50" and "2024" are not. Erring towards scrubbing is the safe side.
    /// </summary>
    private static bool LooksLikePhone(string written, string digits) =>
        digits.Length is >= 7 and <= 15
        && (written.StartsWith('+') || digits.Length >= 9 || written.Any(c => c is ' ' or '-' or '.' or '(' or ')'));

    private static string OnlyDigits(string value) => string.Concat(value.Where(char.IsAsciiDigit));

    [GeneratedRegex(@"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")]
    private static partial Regex Email();

    // Digits with single spaces, dashes, dots or brackets between them; not glued to letters, so "sku12345678" stays.
    [GeneratedRegex(@"(?<![\w.])\+?\(?\d(?:\d|[ \-.()]{1,2}(?=\d))*\d(?!\w)")]
    private static partial Regex DigitRun();

    [GeneratedRegex(@"^(?:\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4})$")]
    private static partial Regex Date();
}
