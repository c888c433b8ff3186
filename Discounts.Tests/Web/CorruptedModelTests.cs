using System.Net;
using Discounts.Core.Data;
using Discounts.Core.Domain;
using Discounts.Core.Scoring;
using Discounts.Training.FineTuning;
using Discounts.Training.Scorer;
using Discounts.Web.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Discounts.Tests.Web;

public sealed class CorruptedModelTests
{
    [TestCase("truncated")]
    [TestCase("missing")]
    public async Task ActivateModel_WhenWeightsFileIsDamaged_Returns409ProblemAndOldModelKeepsServing(string damage)
    {
        using var client = TestHost.Client(ApiRole.Scientist);
        var scorer = TestHost.Factory.Services.GetRequiredService<IScorer>();
        for (var waited = 0; scorer.ActiveVersion is null && waited < 600; waited++)
        {
            await Task.Delay(100);
        }

        await using var scope = TestHost.Factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<DiscountsDbContext>();
        var models = scope.ServiceProvider.GetRequiredService<ScorerModels>();
        var (tiny, _) = models.CreateBase(dropout: 0);
        var path = Path.Combine(models.ScorerFolder, $"damaged-{Guid.NewGuid():N}.safetensors");
        string sha;
        using (tiny)
        {
            sha = ScorerModels.SaveAtomically(tiny.Model, path);
        }

        // The registry's checksum is the good file's; the file on disk is what a crash or a bad disk left.
        if (damage == "truncated")
        {
            var bytes = await File.ReadAllBytesAsync(path);
            await File.WriteAllBytesAsync(path, bytes[..(bytes.Length * 2 / 3)]);
        }
        else
        {
            File.Delete(path);
        }

        var version = new ModelVersion { Name = $"damaged-{Guid.NewGuid():N}", WeightsPath = path, Sha256 = sha, CreatedAt = DateTime.UtcNow };
        db.ModelVersions.Add(version);
        await db.SaveChangesAsync();
        var before = scorer.ActiveVersion;

        var response = await client.PostAsync($"/api/models/{version.Id}/activate", null);
        var problem = await response.AssertProblemAsync(HttpStatusCode.Conflict);

        Assert.Multiple(() =>
        {
            Assert.That(problem.GetProperty("detail").GetString(), Does.Contain($"Model version {version.Id} was refused").And.Contain("serving model is unchanged"));
            Assert.That(scorer.ActiveVersion, Is.EqualTo(before));
            Assert.That(scorer.Score([new ScoringPair("buys shoes", 1)]).Probabilities[0], Is.InRange(0f, 1f));
        });
    }
}
