using System.Text;
using Discounts.Training.Tokenization;
using Discounts.Training.Weights;

namespace Discounts.Tests.Training;

[TestFixture]
public sealed class BertTextTokenizerTests
{
    private static readonly string[] TinyVocab =
        ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "cafe", "naive", "resume", "the", "red", "shoe", "##s", "a", "b", "c", "d"];

    private static BertTextTokenizer Tiny(string lineEnding) =>
        BertTextTokenizer.FromVocab(Encoding.UTF8.GetBytes(string.Join(lineEnding, TinyVocab) + lineEnding));

    [Test]
    public void Tokens_WhenWordsCarryAccents_StripsMarksInsteadOfUnknown()
    {
        var tokenizer = BertTextTokenizer.FromVocab(MiniLmPackage.FromOutputFolder().ReadVocab());
        var ids = tokenizer.TokenIds("Café naïve résumé");
        Assert.Multiple(() =>
        {
            Assert.That(ids, Does.Not.Contain(tokenizer.UnknownTokenId));
            Assert.That(tokenizer.Tokens("Café naïve résumé"), Is.EqualTo(new[] { "cafe", "naive", "resume" }));
        });
    }

    [Test]
    public void FromVocab_WhenVocabHasCrlfLineEndings_TokenisesLikeLf()
    {
        var crlf = Tiny("\r\n");
        var lf = Tiny("\n");
        var ids = crlf.TokenIds("The red shoes, café");
        Assert.Multiple(() =>
        {
            Assert.That(ids, Is.EqualTo(lf.TokenIds("The red shoes, café")));
            Assert.That(ids.Take(4), Is.EqualTo(new[] { 8, 9, 10, 11 }), "the, red, shoe, ##s");
            Assert.That(crlf.ClassificationTokenId, Is.EqualTo(2));
            Assert.That(crlf.SeparatorTokenId, Is.EqualTo(3));
        });
    }

    [Test]
    public void FromVocab_WhenPackagedVocabIsRead_HasCrlfLineEndingsAndStillKnowsWords()
    {
        var vocab = MiniLmPackage.FromOutputFolder().ReadVocab();
        var tokenizer = BertTextTokenizer.FromVocab(vocab);
        Assert.Multiple(() =>
        {
            Assert.That(Encoding.UTF8.GetString(vocab), Does.Contain("\r\n"), "the packaged vocab.txt uses CRLF");
            Assert.That(tokenizer.TokenIds("the red shoes"), Does.Not.Contain(tokenizer.UnknownTokenId));
            Assert.That(tokenizer.ClassificationTokenId, Is.EqualTo(101));
            Assert.That(tokenizer.SeparatorTokenId, Is.EqualTo(102));
        });
    }

    [Test]
    public void EncodePairs_WhenGivenTwoTexts_BuildsClsASepBSepWithTokenTypes()
    {
        var batch = Tiny("\n").EncodePairs(["red shoe"], ["the cafe"], maxLength: 16);
        Assert.Multiple(() =>
        {
            Assert.That(batch.InputIds, Is.EqualTo(new long[] { 2, 9, 10, 3, 8, 5, 3 }));
            Assert.That(batch.TokenTypeIds, Is.EqualTo(new long[] { 0, 0, 0, 0, 1, 1, 1 }));
            Assert.That(batch.AttentionMask, Is.EqualTo(new long[] { 1, 1, 1, 1, 1, 1, 1 }));
        });
    }

    [Test]
    public void EncodePairs_WhenTooLong_TruncatesLongestFirst()
    {
        var batch = Tiny("\n").EncodePairs(["a b c d a b"], ["red shoe"], maxLength: 8);
        // Budget 8 - 3 specials = 5: the longer first text shrinks until it is no longer than the second.
        Assert.Multiple(() =>
        {
            Assert.That(batch.SequenceLength, Is.EqualTo(8));
            Assert.That(batch.InputIds, Is.EqualTo(new long[] { 2, 12, 13, 14, 3, 9, 10, 3 }));
        });
    }

    [Test]
    public void EncodeBatch_WhenTextsDifferInLength_PadsToLongestWithMask()
    {
        var batch = Tiny("\n").EncodeBatch(["red shoe", "a"], maxLength: 16);
        Assert.Multiple(() =>
        {
            Assert.That(batch.SequenceLength, Is.EqualTo(4));
            Assert.That(batch.InputIds, Is.EqualTo(new long[] { 2, 9, 10, 3, 2, 12, 3, 0 }));
            Assert.That(batch.AttentionMask, Is.EqualTo(new long[] { 1, 1, 1, 1, 1, 1, 1, 0 }));
            Assert.That(batch.TokenTypeIds, Is.All.EqualTo(0L));
        });
    }

    [Test]
    public void EncodeBatch_WhenPadToMaxLength_UsesFixedLength()
    {
        var batch = Tiny("\n").EncodeBatch(["a b c d a b c d"], maxLength: 5, padToMaxLength: true);
        Assert.Multiple(() =>
        {
            Assert.That(batch.SequenceLength, Is.EqualTo(5));
            Assert.That(batch.InputIds, Is.EqualTo(new long[] { 2, 12, 13, 14, 3 }));
        });
    }
}
