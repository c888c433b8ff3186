#:project ../../Discounts.Core/Discounts.Core.csproj
#:property TreatWarningsAsErrors=false
// Brute-force nearest-item search as recommendations run it (CandidateGenerator with only the embedding source
// active), over synthetic catalogues of growing size with 384-dimensional unit vectors (all-MiniLM-L6-v2's width).
//   dotnet run docs/scripts/bench-vector-search.cs -c Release
using System.Diagnostics;
using Discounts.Core.Recommending;
using Discounts.Core.Scoring;

const int Dimension = 384;
var random = new Random(17);
Console.WriteLine("items\tmedian ms\tp99 ms\tper 1k items (µs)");
foreach (var count in new[] { 2_000, 10_000, 50_000, 100_000, 200_000, 500_000 })
{
    var items = Enumerable.Range(0, count).Select(i => new CatalogueRow(i + 1, $"i{i}", $"item {i}", "", $"c{i % 12}", "", DateTime.UtcNow.AddDays(-400))).ToList();
    var index = CatalogueIndex.Build(items, [], DateTime.UtcNow, new RecommendationOptions());
    var vectors = new float[count * Dimension];
    for (var i = 0; i < vectors.Length; i++) vectors[i] = (float)(random.NextDouble() - 0.5);
    var matrix = new ItemMatrix(new ScorerVersion(null, "bench", ""), vectors, Enumerable.Repeat(true, count).ToArray(), Dimension);
    var timings = new List<double>();
    for (var run = 0; run < 60; run++)
    {
        var user = Enumerable.Range(0, Dimension).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        var started = Stopwatch.GetTimestamp();
        CandidateGenerator.Generate(index, new UserSignals([], new HashSet<int>(), [], user), matrix, 60);
        if (run >= 10) timings.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    timings.Sort();
    var median = timings[timings.Count / 2];
    Console.WriteLine($"{count}\t{median:F2}\t{timings[(int)(timings.Count * 0.99)]:F2}\t{median * 1000 / (count / 1000.0):F1}");
}
