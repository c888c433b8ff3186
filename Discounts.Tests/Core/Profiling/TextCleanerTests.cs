using Discounts.Core.Profiling;

namespace Discounts.Tests.Core.Profiling;

public sealed class TextCleanerTests
{
    [TestCase("<p>Great <b>serum</b></p>", "Great serum")]
    [TestCase("<script>alert('x')</script>Nice toner", "Nice toner")]
    [TestCase("<style>p{color:red}</style><div>ok</div>", "ok")]
    [TestCase("before<!-- hidden comment -->after", "before after")]
    [TestCase("&lt;b&gt;bold&lt;/b&gt; &amp; bright", "bold & bright")]
    [TestCase("&amp;lt;i&amp;gt;double escaped&amp;lt;/i&amp;gt;", "double escaped")]
    [TestCase("unclosed <img src=x onerror=alert(1)", "unclosed")]
    [TestCase("I <3 it and 2 < 5", "I <3 it and 2 < 5")]
    public void Clean_WhenMarkupPresent_StripsTagsButKeepsText(string raw, string expected) =>
        Assert.That(TextCleaner.Clean(raw), Is.EqualTo(expected));

    [TestCase("see https://example.com/a?b=c#d for more", "see for more")]
    [TestCase("WWW.Shop.example/deal!!", "")]
    [TestCase("ftp://files.example.org/x.zip and http://x.y", "and")]
    [TestCase("[the shop](https://example.com/p/1) is nice", "the shop is nice")]
    public void Clean_WhenUrlsPresent_RemovesThem(string raw, string expected) =>
        Assert.That(TextCleaner.Clean(raw), Is.EqualTo(expected));

    [TestCase("zero\u200Bwidth", "zerowidth")]
    [TestCase("bidi\u202Eevil\u202C text", "bidievil text")]
    [TestCase("bell\u0007 and\u0000 nul", "bell and nul")]
    [TestCase("  many \t\t spaces\r\n\r\nand lines  ", "many spaces and lines")]
    [TestCase("\u00A0non\u2003breaking\u3000spaces", "non breaking spaces")]
    [TestCase("ｆｕｌｌｗｉｄｔｈ １２３", "fullwidth 123")]
    [TestCase("ﬁne ligature", "fine ligature")]
    [TestCase("e\u0301clair", "éclair")]
    [TestCase("", "")]
    [TestCase("   ", "")]
    public void Clean_WhenControlOrUnnormalisedCharacters_NormalisesThem(string raw, string expected) =>
        Assert.That(TextCleaner.Clean(raw), Is.EqualTo(expected));

    [Test]
    public void Clean_WhenNull_ReturnsEmpty() => Assert.That(TextCleaner.Clean(null), Is.Empty);

    [Test]
    public void Clean_WhenChineseAndEmoji_KeepsThem() =>
        Assert.That(TextCleaner.Clean("<p>这款面霜很保湿 😍 推荐！</p>"), Is.EqualTo("这款面霜很保湿 😍 推荐!"));

    [TestCase("mail me at jane.doe+shop@example.co.uk please", "mail me at [email] please")]
    [TestCase("JOHN_SMITH@Mail.Example.COM", "[email]")]
    [TestCase("ｊｏｈｎ＠ｅｘａｍｐｌｅ．ｃｏｍ", "[email]")]
    [TestCase("a@b.c is not an address", "a@b.c is not an address")]
    public void Clean_WhenEmailPresent_ReplacesWithPlaceholder(string raw, string expected) =>
        Assert.That(TextCleaner.Clean(raw), Is.EqualTo(expected));

    [TestCase("card 4111 1111 1111 1111 thanks", "card [card] thanks")]
    [TestCase("4111-1111-1111-1111", "[card]")]
    [TestCase("5500005555555559", "[card]")]
    [TestCase("amex 3782 822463 10005", "amex [card]")]
    [TestCase("４１１１１１１１１１１１１１１１", "[card]")]
    public void Clean_WhenLuhnValidCardNumber_ReplacesWithPlaceholder(string raw, string expected) =>
        Assert.That(TextCleaner.Clean(raw), Is.EqualTo(expected));

    [TestCase("order 4111111111111112 arrived", "order 4111111111111112 arrived")]
    [TestCase("tracking 12345678901234567890123", "tracking 12345678901234567890123")]
    public void Clean_WhenLongNumberFailsLuhnAndIsNoPhone_KeepsIt(string raw, string expected) =>
        Assert.That(TextCleaner.Clean(raw), Is.EqualTo(expected));

    [TestCase("call +49 151 2345 6789 today", "call [phone] today")]
    [TestCase("ring (030) 123-4567", "ring [phone]")]
    [TestCase("my number is 0151.234.56789", "my number is [phone]")]
    [TestCase("text 07700900123", "text [phone]")]
    [TestCase("+1-202-555-0143", "[phone]")]
    public void Clean_WhenPhoneNumber_ReplacesWithPlaceholder(string raw, string expected) =>
        Assert.That(TextCleaner.Clean(raw), Is.EqualTo(expected));

    [TestCase("paid 19.99 for 2 items in 2024", "paid 19.99 for 2 items in 2024")]
    [TestCase("arrived on 2026-11-28 at 10:30", "arrived on 2026-11-28 at 10:30")]
    [TestCase("size 250 ml, sku12345678", "size 250 ml, sku12345678")]
    [TestCase("under 50", "under 50")]
    public void Clean_WhenOrdinaryNumbers_KeepsThem(string raw, string expected) =>
        Assert.That(TextCleaner.Clean(raw), Is.EqualTo(expected));

    [Test]
    public void Clean_WhenCalledTwice_IsIdempotent()
    {
        const string raw = "<b>Love</b> it! Mail a@example.com or +44 20 7946 0958, card 4111 1111 1111 1111 https://x.example 这款面霜";
        var once = TextCleaner.Clean(raw);
        Assert.That(TextCleaner.Clean(once), Is.EqualTo(once));
        Assert.That(once, Does.Not.Contain("@").And.Not.Contain("4111").And.Not.Contain("7946").And.Not.Contain("http"));
    }

    [TestCase("4111111111111111", true)]
    [TestCase("4111111111111112", false)]
    [TestCase("79927398713", true)]
    [TestCase("79927398710", false)]
    public void PassesLuhn_WhenChecked_MatchesTheChecksum(string digits, bool expected) =>
        Assert.That(PiiScrubber.PassesLuhn(digits), Is.EqualTo(expected));
}

public sealed class TokenizerTests
{
    [Test]
    public void Tokenize_WhenEnglish_LowercasesAndDropsStopWordsAndNumbers() =>
        Assert.That(Tokenizer.Tokenize("The Retinol SERUM is great for 30 days, isn't it?"),
            Is.EqualTo(new[] { "retinol", "serum", "great", "days" }));

    [Test]
    public void Tokenize_WhenChinese_ProducesCharacterBigrams() =>
        Assert.That(Tokenizer.Tokenize("保湿面霜"), Is.EqualTo(new[] { "保湿", "湿面", "面霜" }));

    [Test]
    public void Tokenize_WhenMixedScripts_SplitsAtScriptBoundaries() =>
        Assert.That(Tokenizer.Tokenize("买了retinol精华，很好"), Is.EqualTo(new[] { "买了", "retinol", "精华", "很好" }));

    [Test]
    public void Tokenize_WhenSingleCjkCharacter_KeepsIt() =>
        Assert.That(Tokenizer.Tokenize("好 serum"), Is.EqualTo(new[] { "好", "serum" }));

    [Test]
    public void Tokenize_WhenJapaneseKana_ProducesBigrams() =>
        Assert.That(Tokenizer.Tokenize("シャンプー"), Is.EqualTo(new[] { "シャ", "ャン", "ンプ", "プー" }));

    [Test]
    public void Tokenize_WhenPlaceholdersPresent_DropsThemButKeepsRealWords() =>
        Assert.That(Tokenizer.Tokenize("gift card sent to [email] or [card] via [phone]"),
            Is.EqualTo(new[] { "gift", "card", "sent", "via" }));

    [Test]
    public void Tokenize_WhenAccentedLatin_KeepsLetters() =>
        Assert.That(Tokenizer.Tokenize("Crème brûlée"), Is.EqualTo(new[] { "crème", "brûlée" }));
}
