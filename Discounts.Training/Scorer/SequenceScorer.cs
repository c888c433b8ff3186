using System.Diagnostics;
using Discounts.Core.Evaluation;
using Discounts.Core.Scoring;
using Discounts.Training.Benchmarks;
using TorchSharp;
using static TorchSharp.torch;

namespace Discounts.Training.Scorer;

/// <summary>How the sequence scorer is built and fine-tuned. The defaults were chosen on Scientific's validation targets only.</summary>
public sealed record SequenceFitOptions
{
    public int Epochs { get; init; } = 6;

    public int BatchSize { get; init; } = 512;

    public double LearningRate { get; init; } = 1e-3;

    public double WeightDecay { get; init; } = 3;

    public double Dropout { get; init; } = 0.1;

    /// <summary>Items drawn uniformly as extra negatives for every batch, beside the batch's own targets.</summary>
    public int UniformNegatives { get; init; } = 1_024;

    /// <summary>Whether each catalogue item also learns its own vector beside its text's (see <see cref="SequenceTowers"/>).</summary>
    public bool ItemIds { get; init; } = true;

    /// <summary>How many pairs of towers are trained, each from its own seed, and averaged (see <see cref="SequenceScorer"/>).</summary>
    public int Members { get; init; } = 3;

    public int Seed { get; init; } = 7;

    /// <summary>The time every member's training may take together.</summary>
    public double MaxMinutes { get; init; } = 20;

    /// <summary>The untrained scorer: one member (untrained members are all alike) and no items' own vectors (they start at zero).</summary>
    public static SequenceFitOptions ZeroShot { get; } = new() { Members = 1, ItemIds = false };
}

/// <summary>
/// What one member's fit did: the mean in-batch loss and the validation NDCG@10 of each epoch, the epoch kept, and how
/// fast its training steps ran: history positions (every one real, none padding) and matmul GFLOP per second of step time.
/// </summary>
public sealed record SequenceFitReport(
    IReadOnlyList<double> EpochLoss, IReadOnlyList<double> ValidationNdcgAt10, double BaseValidationNdcgAt10, int KeptEpoch,
    int Examples, double Seconds, double HistoryPositionsPerSecond, double StepGflopsPerSecond, bool StoppedByTime);

/// <summary>One member's finished epoch: its mean in-batch loss and, when measured, the member's validation NDCG@10.</summary>
public sealed record SequenceEpoch(int Member, int Epoch, double Loss, double? ValidationNdcgAt10, double Seconds);

/// <summary>
/// What a fit of every member did, the whole scorer's validation NDCG@10 before and after, and the training steps'
/// matmul rate against the machine's float32 matmul rate measured in the same run (2048³ products).
/// </summary>
public sealed record SequenceEnsembleFit(
    IReadOnlyList<SequenceFitReport> Members, double BaseValidationNdcgAt10, double ValidationNdcgAt10, double MatmulGflopsPerSecond)
{
    public IReadOnlyList<int> KeptEpochs => Members.Select(m => m.KeptEpoch).ToArray();

    public double ShareOfMatmulRate => MatmulGflopsPerSecond > 0 ? Math.Round(Members.Average(m => m.StepGflopsPerSecond) / MatmulGflopsPerSecond, 3) : 0;
}

/// <summary>
/// The sequence-aware scorer: <see cref="SequenceTowers"/> over the pretrained encoder's vectors of the catalogue's
/// texts, fine-tuned contrastively on "these recent items, then that one". The loss is an in-batch softmax (the batch's
/// other targets are the negatives) with the log-Q correction, which subtracts each target's log share of all targets:
/// popular items appear as negatives more often than a uniform sample would hold them, and uncorrected the model would
/// learn to push them down. Examples are bucketed by history length, so no batch is padded beyond its longest history.
/// With several members, each pair of towers is trained from its own seed and the scorer's vectors are theirs side by
/// side, scaled so a dot product is the members' mean cosine: which epoch suits a run varies from seed to seed, and the
/// mean ranks steadier than any one of them.
/// </summary>
public sealed class SequenceScorer : IDisposable
{
    private readonly SequenceTowers[] members;
    private readonly float[] itemTextVectors;
    private readonly Tensor textVectors;
    private readonly Tensor itemTexts;
    private readonly Tensor allItems;
    private readonly Tensor? ownRows;
    private readonly Device device;

    /// <param name="options">How the towers are built (members, dropout, the items' own vectors, seed) and how <see cref="Fit"/> trains them.</param>
    /// <param name="ownVectorRows">For a loaded scorer over another catalogue: each text vector's row among the trained
    /// items' own vectors, or <see cref="SequenceTowers.TextOnly"/> for an item the towers never saw. Null: row i is item i.</param>
    /// <param name="ownVectorCount">How many items' own vectors the towers hold; by default one per item.</param>
    /// <param name="userTextVectors">The encoder's vectors of users' texts, which training histories may hold as
    /// rows after the items' (row <see cref="ItemCount"/> is the first text); they are read, never ranked.</param>
    public SequenceScorer(float[] itemTextVectors, int hidden, Device device, SequenceFitOptions options, long[]? ownVectorRows = null, int? ownVectorCount = null,
        float[]? userTextVectors = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Members, 1);
        this.device = device;
        Options = options;
        ItemCount = itemTextVectors.Length / hidden;
        Hidden = hidden;
        this.itemTextVectors = itemTextVectors;
        float[] rows = userTextVectors is null ? itemTextVectors : [.. itemTextVectors, .. userTextVectors];
        textVectors = tensor(rows, [rows.Length / hidden, hidden], device: device);
        itemTexts = textVectors.narrow(0, 0, ItemCount);
        allItems = arange(ItemCount, dtype: ScalarType.Int64, device: device);
        ownRows = ownVectorRows is null ? null : tensor(ownVectorRows, device: device);
        members = new SequenceTowers[options.Members];
        for (var m = 0; m < members.Length; m++)
        {
            // A member's first weights are drawn here, so the same seed gives the same start.
            manual_seed(options.Seed + m);
            var towers = new SequenceTowers(hidden, options.Dropout, options.ItemIds ? ownVectorCount ?? ItemCount : 0);
            towers.to(device);
            towers.eval();
            members[m] = towers;
        }
    }

    public int ItemCount { get; }

    /// <summary>The encoder's vector size, which each member's towers keep.</summary>
    public int Hidden { get; }

    /// <summary>The length of the scorer's item and user vectors: every member's, side by side.</summary>
    public int Dimension => Hidden * members.Length;

    public SequenceFitOptions Options { get; }

    /// <summary>The softmax's learned inverse temperature, the members' mean.</summary>
    public float SimilarityScale => members.Average(towers =>
    {
        using var scale = towers.Scale;
        return scale.item<float>();
    });

    /// <summary>The encoder's vectors the towers read, as given.</summary>
    public float[] TextVectors => itemTextVectors;

    /// <summary>Unit-length item vectors of the whole catalogue, row-major [items, <see cref="Dimension"/>].</summary>
    public float[] ItemVectors()
    {
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var own = OwnRows(allItems);
        return Joined(members.Select(towers => towers.Items(itemTexts, own))).cpu().data<float>().ToArray();
    }

    /// <summary>
    /// Unit-length item vectors [texts, <see cref="Dimension"/>] of items given by their text vectors (added or edited
    /// after the scorer was built), each with its row among the own vectors or <see cref="SequenceTowers.TextOnly"/>.
    /// </summary>
    public float[] ItemVectorsOfTexts(float[] texts, long[] ownVectorRows)
    {
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var vectors = tensor(texts, [ownVectorRows.Length, Hidden], device: device);
        var own = tensor(ownVectorRows, device: device);
        return Joined(members.Select(towers => towers.Items(vectors, own))).cpu().data<float>().ToArray();
    }

    /// <summary>
    /// The own-vector rows of history rows: an item's own row (itself, when the catalogue is the trained one), a user's
    /// text <see cref="SequenceTowers.TextOnly"/>, padding padding.
    /// </summary>
    private Tensor OwnRows(Tensor rows)
    {
        using var known = rows.clamp(0, ItemCount - 1);
        using var mapped = ownRows is null ? known.alias() : ownRows.index_select(0, known.view(-1)).view(rows.shape);
        using var texts = rows.ge(ItemCount);
        using var padding = rows.eq(SequenceTowers.Padding);
        return mapped.masked_fill(texts, SequenceTowers.TextOnly).masked_fill_(padding, SequenceTowers.Padding);
    }

    /// <summary>The rows of text vectors the scorer holds: the items', then any users' texts it was trained with.</summary>
    public int TextRows => (int)textVectors.shape[0];

    /// <summary>
    /// Unit-length user vectors, row-major [users, <see cref="Dimension"/>], for histories given oldest first (an empty
    /// one gives zeros). Rows from <see cref="TextRows"/> on are rows of <paramref name="extraTexts"/>: texts read by
    /// their vectors alone, such as what a user wrote.
    /// </summary>
    public float[] UserVectors(IReadOnlyList<int[]> histories, float[]? extraTexts = null) => UserVectors(histories, members, extraTexts);

    private float[] UserVectors(IReadOnlyList<int[]> histories, IReadOnlyList<SequenceTowers> scored, float[]? extraTexts = null)
    {
        var dimension = Hidden * scored.Count;
        var result = new float[histories.Count * dimension];
        using var extra = extraTexts is null ? null : tensor(extraTexts, [extraTexts.Length / Hidden, Hidden], device: device);
        using var table = extra is null ? null : cat([textVectors, extra], 0);
        const int chunk = 1_024;
        for (var start = 0; start < histories.Count; start += chunk)
        {
            var rows = Enumerable.Range(start, Math.Min(chunk, histories.Count - start)).Where(i => histories[i].Length > 0).ToArray();
            if (rows.Length == 0)
            {
                continue;
            }

            using var scope = NewDisposeScope();
            using var inference = inference_mode();
            var indices = HistoryTensor(rows.Select(i => histories[i]).ToArray(), rows.Select(i => histories[i].Length).ToArray());
            var history = Gather(indices, table);
            var own = OwnRows(indices);
            var vectors = Joined(scored.Select(towers => towers.call(history, own))).cpu().data<float>().ToArray();
            for (var r = 0; r < rows.Length; r++)
            {
                vectors.AsSpan(r * dimension, dimension).CopyTo(result.AsSpan(rows[r] * dimension, dimension));
            }
        }

        return result;
    }

    /// <summary>Unit-length vectors side by side along the last axis, scaled so the whole stays unit-length.</summary>
    private static Tensor Joined(IEnumerable<Tensor> unitVectors)
    {
        var parts = unitVectors.ToArray();
        return parts.Length == 1 ? parts[0] : cat(parts, -1).div_(Math.Sqrt(parts.Length));
    }

    /// <summary>
    /// Fine-tunes every member on every next item of <paramref name="sequences"/> (oldest first); each keeps the epoch
    /// whose full-ranking NDCG@10 on <paramref name="validation"/> is best, the untrained start included. With
    /// <paramref name="stopAfterEpochs"/> (a refit on more data, once an earlier fit chose each member's epoch), each
    /// member runs the same schedule, stops after its epoch and keeps it; validation is then not measured.
    /// </summary>
    /// <param name="onEpoch">Told after each member's epoch, for a job's loss curve.</param>
    public SequenceEnsembleFit Fit(
        IReadOnlyList<int[]> sequences, IReadOnlyList<(int[] History, int Target)> validation, Action<string> log, IReadOnlyList<int>? stopAfterEpochs = null,
        Action<SequenceEpoch>? onEpoch = null, CancellationToken cancellationToken = default) =>
        Fit(ExamplesOf(sequences), validation, log, stopAfterEpochs, onEpoch, cancellationToken);

    /// <summary>
    /// Fine-tunes every member on <paramref name="examples"/>: each a history (rows oldest first, items' and users'
    /// texts alike) and the item chosen after it; otherwise as the overload over sequences.
    /// </summary>
    public SequenceEnsembleFit Fit(
        IReadOnlyList<(int[] History, int Target)> examples, IReadOnlyList<(int[] History, int Target)> validation, Action<string> log, IReadOnlyList<int>? stopAfterEpochs = null,
        Action<SequenceEpoch>? onEpoch = null, CancellationToken cancellationToken = default)
    {
        var baseNdcg = ValidationNdcg(validation);
        var reports = new List<SequenceFitReport>();
        for (var m = 0; m < members.Length; m++)
        {
            if (members.Length > 1)
            {
                log($"sequence scorer: member {m + 1} of {members.Length}");
            }

            var memberOptions = Options with { Seed = Options.Seed + m, MaxMinutes = Options.MaxMinutes / members.Length };
            var member = m;
            reports.Add(FitMember(members[m], examples, validation, memberOptions, log, stopAfterEpochs?[m],
                onEpoch is null ? null : epoch => onEpoch(epoch with { Member = member }), cancellationToken));
        }

        var ndcg = ValidationNdcg(validation);
        if (members.Length > 1 && validation.Count > 0)
        {
            log($"sequence scorer: the {members.Length} members together, validation NDCG@10 {ndcg:F4}");
        }

        var matmulRate = device.type == DeviceType.CPU ? BertBenchmark.MatmulGflopsPerSecond(2048, 5) : 0;
        log($"training steps at {reports.Average(r => r.StepGflopsPerSecond):F1} GFLOP/s of matmuls; the machine's float32 matmul rate {matmulRate:F1} GFLOP/s");
        return new SequenceEnsembleFit(reports, baseNdcg, ndcg, matmulRate);
    }

    private SequenceFitReport FitMember(
        SequenceTowers towers, IReadOnlyList<(int[] History, int Target)> trainingExamples, IReadOnlyList<(int[] History, int Target)> validation, SequenceFitOptions options,
        Action<string> log, int? stopAfterEpoch, Action<SequenceEpoch>? onEpoch, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        manual_seed(options.Seed);
        var examples = trainingExamples as List<(int[] History, int Target)> ?? [.. trainingExamples];
        var targetCounts = new double[ItemCount];
        foreach (var (_, target) in examples)
        {
            targetCounts[target]++;
        }

        var targetShare = targetCounts.Select(c => Math.Max(c, 0.5) / examples.Count).ToArray();
        var random = new Random(options.Seed);
        var batchCount = Buckets(examples, options.BatchSize).Count;
        var parameters = towers.parameters().ToList();
        using var optimizer = optim.AdamW(parameters, lr: options.LearningRate, weight_decay: options.WeightDecay);
        var totalSteps = Math.Max(1, options.Epochs * batchCount);
        var schedule = optim.lr_scheduler.LambdaLR(optimizer, step => Math.Min(1.0, (step + 1) / (0.05 * totalSteps)) * Math.Max(0.0, 1.0 - (double)step / totalSteps));

        var baseNdcg = ValidationNdcg(validation, [towers]);
        log(stopAfterEpoch is null
            ? $"sequence scorer: {examples.Count} examples in {batchCount} batches; untrained validation NDCG@10 {baseNdcg:F4}"
            : $"sequence scorer: {examples.Count} examples in {batchCount} batches; refit for {stopAfterEpoch} epochs");
        var best = (Ndcg: baseNdcg, Epoch: 0, State: Snapshot(towers));
        var losses = new List<double>();
        var ndcgs = new List<double>();
        long positions = 0;
        double stepGflops = 0;
        var stepTime = new Stopwatch();
        var stoppedByTime = false;
        var lastEpoch = Math.Min(options.Epochs, stopAfterEpoch ?? options.Epochs);
        for (var epoch = 1; epoch <= lastEpoch && !stoppedByTime; epoch++)
        {
            towers.train();
            var order = Buckets(examples.OrderBy(_ => random.Next()).ToList(), options.BatchSize).OrderBy(_ => random.Next()).ToList();
            double lossSum = 0;
            var steps = 0;
            foreach (var batch in order)
            {
                cancellationToken.ThrowIfCancellationRequested();
                stepTime.Start();
                var (loss, gflops) = Step(towers, batch, targetShare, options.UniformNegatives, random, optimizer);
                stepTime.Stop();
                lossSum += loss;
                stepGflops += gflops;
                schedule.step();
                positions += batch.Sum(e => Math.Min(e.History.Length, SequenceTowers.MaxHistory));
                steps++;
                if (Stopwatch.GetElapsedTime(started).TotalMinutes > options.MaxMinutes)
                {
                    stoppedByTime = true;
                    break;
                }
            }

            towers.eval();
            var ndcg = stopAfterEpoch is null ? ValidationNdcg(validation, [towers]) : double.NaN;
            losses.Add(lossSum / Math.Max(1, steps));
            if (stopAfterEpoch is null)
            {
                ndcgs.Add(ndcg);
            }

            log(stopAfterEpoch is null
                ? $"epoch {epoch}: loss {losses[^1]:F4}, validation NDCG@10 {ndcg:F4}, {Stopwatch.GetElapsedTime(started).TotalSeconds:F0} s"
                : $"epoch {epoch}: loss {losses[^1]:F4}, {Stopwatch.GetElapsedTime(started).TotalSeconds:F0} s");
            onEpoch?.Invoke(new SequenceEpoch(0, epoch, losses[^1], stopAfterEpoch is null ? ndcg : null, Stopwatch.GetElapsedTime(started).TotalSeconds));
            if (ndcg > best.Ndcg || (stopAfterEpoch is not null && (epoch == lastEpoch || stoppedByTime)))
            {
                DisposeState(best.State);
                best = (ndcg, epoch, Snapshot(towers));
            }
        }

        Restore(towers, best.State);
        DisposeState(best.State);
        towers.eval();
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var stepSeconds = Math.Max(stepTime.Elapsed.TotalSeconds, 1e-9);
        return new SequenceFitReport(losses, ndcgs, baseNdcg, best.Epoch, examples.Count, seconds, positions / stepSeconds, stepGflops / stepSeconds, stoppedByTime);
    }

    private const string MemberPrefix = "members.";
    private const string ItemIdsKey = "item_ids";
    private const string CalibrationKey = "calibration";

    /// <summary>
    /// Writes every member's towers, the database ids of the items in row order (whose own vectors they hold) and the
    /// Platt calibration of the similarity, as one safetensors file.
    /// </summary>
    public void Save(string path, IReadOnlyList<long> itemIds, (double Scale, double Bias) calibration)
    {
        if (itemIds.Count != ItemCount) throw new ArgumentException($"The scorer holds {ItemCount} items, not {itemIds.Count}.", nameof(itemIds));
        using var scope = NewDisposeScope();
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal)
        {
            [ItemIdsKey] = tensor(itemIds.ToArray()),
            [CalibrationKey] = tensor(new[] { calibration.Scale, calibration.Bias }),
        };
        for (var m = 0; m < members.Length; m++)
        {
            foreach (var (name, value) in members[m].state_dict())
            {
                tensors[$"{MemberPrefix}{m}.{name}"] = value.detach().cpu();
            }
        }

        TorchSharp.PyBridge.Safetensors.SaveStateDict(path, tensors);
    }

    /// <summary>Whether a safetensors file holds a sequence scorer (rather than the two-tower model), from its header alone.</summary>
    public static bool IsSequenceFile(string path)
    {
        using var file = File.OpenRead(path);
        Span<byte> size = stackalloc byte[8];
        file.ReadExactly(size);
        var length = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(size);
        if (length > 100_000_000 || (long)length > file.Length - 8) throw new InvalidDataException($"{Path.GetFileName(path)} is not a safetensors file.");
        var header = new byte[length];
        file.ReadExactly(header);
        try
        {
            using var json = System.Text.Json.JsonDocument.Parse(header);
            return json.RootElement.TryGetProperty(ItemIdsKey, out _);
        }
        catch (System.Text.Json.JsonException error)
        {
            throw new InvalidDataException($"{Path.GetFileName(path)} has a damaged safetensors header.", error);
        }
    }

    /// <summary>
    /// Loads a saved scorer over the catalogue as it is now: <paramref name="textVectors"/> are the encoder's vectors
    /// of <paramref name="itemIds"/>' texts. Items the file holds keep their own vectors; items it does not are read by
    /// text alone. Every member's tensors must match exactly.
    /// </summary>
    public static (SequenceScorer Scorer, (double Scale, double Bias) Calibration, long[] TrainedItemIds) Load(string path, float[] textVectors, IReadOnlyList<long> itemIds, Device device)
    {
        var checkpoint = TorchSharp.PyBridge.Safetensors.LoadStateDict(path);
        try
        {
            if (!checkpoint.TryGetValue(ItemIdsKey, out var trainedIds) || !checkpoint.TryGetValue(CalibrationKey, out var calibration))
                throw new Weights.WeightMismatchException($"{Path.GetFileName(path)} is not a sequence scorer: it has no {ItemIdsKey} or {CalibrationKey}.");
            var trained = trainedIds.data<long>().ToArray();
            var platt = calibration.to(ScalarType.Float64).data<double>().ToArray();
            var memberCount = checkpoint.Keys.Where(k => k.StartsWith(MemberPrefix, StringComparison.Ordinal))
                .Select(k => k[MemberPrefix.Length..k.IndexOf('.', MemberPrefix.Length)]).Distinct().Count();
            if (memberCount == 0 || !checkpoint.TryGetValue($"{MemberPrefix}0.item_adapter.weight", out var adapter))
                throw new Weights.WeightMismatchException($"{Path.GetFileName(path)} holds no towers.");
            var hidden = (int)adapter.shape[0];
            if (textVectors.Length != itemIds.Count * hidden)
                throw new Weights.WeightMismatchException($"{Path.GetFileName(path)} has {hidden}-wide towers; the encoder's vectors are {textVectors.Length / Math.Max(1, itemIds.Count)} wide.");
            var ownItems = checkpoint.ContainsKey($"{MemberPrefix}0.item_embeddings.weight");
            var trainedRow = trained.Select((id, row) => (id, row)).ToDictionary(p => p.id, p => (long)p.row);
            var ownRows = itemIds.Select(id => trainedRow.TryGetValue(id, out var row) ? row : SequenceTowers.TextOnly).ToArray();
            var options = new SequenceFitOptions { Members = memberCount, ItemIds = ownItems, Dropout = 0 };
            var scorer = new SequenceScorer(textVectors, hidden, device, options, ownRows, trained.Length);
            try
            {
                for (var m = 0; m < memberCount; m++)
                {
                    var prefix = $"{MemberPrefix}{m}.";
                    var own = checkpoint.Where(p => p.Key.StartsWith(prefix, StringComparison.Ordinal)).ToDictionary(p => p.Key[prefix.Length..], p => p.Value);
                    using var noGrad = no_grad();
                    Weights.StrictStateDict.Load(scorer.members[m], own, $"{Path.GetFileName(path)} member {m}");
                    scorer.members[m].eval();
                }
            }
            catch
            {
                scorer.Dispose();
                throw;
            }

            return (scorer, (platt[0], platt[1]), trained);
        }
        finally
        {
            foreach (var value in checkpoint.Values) value.Dispose();
        }
    }

    /// <summary>Every next item of every sequence: (sequence, position), its target at that position.</summary>
    public static IEnumerable<(int Sequence, int Position)> Examples(IReadOnlyList<int[]> sequences)
    {
        for (var s = 0; s < sequences.Count; s++)
        {
            for (var t = 1; t < sequences[s].Length; t++)
            {
                yield return (s, t);
            }
        }
    }

    /// <summary>
    /// What the user tower reads for the example at <paramref name="position"/>: the items before it, oldest first.
    /// Nothing at or after the target's position may reach it, or the model would learn from the answer.
    /// </summary>
    public static int[] HistoryBefore(int[] sequence, int position) => sequence[..position];

    /// <summary>
    /// A shop user's history as rows, oldest first: their newest texts, then their newest items (rows given oldest
    /// first), so the tower, reading newest first, meets the items and then the texts.
    /// </summary>
    public static int[] History(IEnumerable<int> textRows, IEnumerable<int> itemRows) =>
        [.. textRows.TakeLast(Core.Scoring.ScorerHistory.MaxTexts), .. itemRows.TakeLast(Core.Scoring.ScorerHistory.MaxItems)];

    /// <summary>Every next item of every sequence with the items before it (only the last <see cref="SequenceTowers.MaxHistory"/> are read).</summary>
    public static List<(int[] History, int Target)> ExamplesOf(IReadOnlyList<int[]> sequences) =>
        [.. Examples(sequences).Select(e => (sequences[e.Sequence][Math.Max(0, e.Position - SequenceTowers.MaxHistory)..e.Position], sequences[e.Sequence][e.Position]))];

    /// <summary>
    /// The sampled softmax's cross-entropy: logit = scale × user·item − log(expected count of the item among the
    /// negatives), each user's own target (<paramref name="labels"/>, a column of <paramref name="items"/>) the class.
    /// </summary>
    public static Tensor SampledSoftmaxLoss(Tensor users, Tensor items, Tensor scale, Tensor logExpected, Tensor labels)
    {
        using var similarity = users.matmul(items.t());
        using var scaled = similarity.mul(scale);
        using var logits = scaled.sub(logExpected.unsqueeze(0));
        return nn.functional.cross_entropy(logits, labels);
    }

    /// <summary>The mean NDCG@10 of each target ranked against every item, the user's history masked out.</summary>
    public double ValidationNdcg(IReadOnlyList<(int[] History, int Target)> users) => ValidationNdcg(users, members);

    private double ValidationNdcg(IReadOnlyList<(int[] History, int Target)> users, IReadOnlyList<SequenceTowers> scored)
    {
        if (users.Count == 0)
        {
            return 0;
        }

        var metrics = new RankingMetricsAccumulator([10]);
        using var scope = NewDisposeScope();
        float[] items;
        using (inference_mode())
        {
            var own = OwnRows(allItems);
            items = Joined(scored.Select(towers => towers.Items(itemTexts, own))).cpu().data<float>().ToArray();
        }

        foreach (var rank in FullRanks(UserVectors(users.Select(u => u.History).ToArray(), scored), items, Hidden * scored.Count, users))
        {
            metrics.Add(rank);
        }

        return metrics.Result().Ndcg[10];
    }

    /// <summary>
    /// Each user's target rank among all items by the user's vector, under the protocol's rule
    /// (<see cref="LeaveOneOutEvaluation.Rank"/>: history masked, a target already in the history ranks last).
    /// </summary>
    public static int[] FullRanks(float[] userVectors, float[] items, int dimension, IReadOnlyList<(int[] History, int Target)> users)
    {
        var itemCount = items.Length / dimension;
        var ranks = new int[users.Count];
        Parallel.For(0, users.Count, u =>
        {
            var user = userVectors.AsSpan(u * dimension, dimension);
            var scores = new float[itemCount];
            for (var item = 0; item < itemCount; item++)
            {
                scores[item] = VectorMath.Dot(user, items.AsSpan(item * dimension, dimension));
            }

            var masked = new bool[itemCount];
            foreach (var item in users[u].History)
            {
                // A history may hold a user's text too (a row past the items): nothing to mask.
                if (item < itemCount) masked[item] = true;
            }

            ranks[u] = LeaveOneOutEvaluation.Rank(scores, users[u].Target, masked);
        });
        return ranks;
    }

    /// <summary>
    /// One step of the sampled softmax. The negatives are the batch's targets plus <paramref name="uniformNegatives"/>
    /// items drawn uniformly; each logit is corrected by the log of how often its item is expected among them
    /// (batch × its share of targets + draws / items), so the sample's bias towards popular items cancels.
    /// </summary>
    private (double Loss, double Gflops) Step(SequenceTowers towers, List<(int[] History, int Target)> batch, double[] targetShare, int uniformNegatives, Random random, optim.Optimizer optimizer)
    {
        using var scope = NewDisposeScope();
        var histories = batch.Select(e => e.History).ToArray();
        var indices = HistoryTensor(histories, histories.Select(h => h.Length).ToArray());
        var users = towers.call(Gather(indices), OwnRows(indices));
        var targets = batch.Select(e => e.Target).ToArray();
        var drawn = Math.Min(uniformNegatives, ItemCount);
        var negatives = targets.Concat(Enumerable.Range(0, drawn).Select(_ => random.Next(ItemCount))).Distinct().ToArray();
        var column = negatives.Select((item, i) => (item, i)).ToDictionary(p => p.item, p => (long)p.i);
        var negativeIndex = tensor(negatives.Select(i => (long)i).ToArray(), device: device);
        var correction = tensor(negatives.Select(i => (float)Math.Log(batch.Count * targetShare[i] + (double)drawn / ItemCount)).ToArray(), device: device);
        var items = towers.Items(textVectors.index_select(0, negativeIndex), OwnRows(negativeIndex));
        var labels = tensor(targets.Select(t => column[t]).ToArray(), device: device);
        var loss = SampledSoftmaxLoss(users, items, towers.Scale, correction, labels);
        optimizer.zero_grad();
        loss.backward();
        nn.utils.clip_grad_norm_(towers.parameters(), 1.0);
        optimizer.step();
        return (loss.item<float>(), StepGflops(Hidden, histories.Length, Math.Min(SequenceTowers.MaxHistory, histories.Max(h => h.Length)), negatives.Length));
    }

    /// <summary>
    /// Matmul FLOPs of one training step, forward and backward (about twice the forward): the item correction over
    /// the history's and the negatives' vectors (2H² each), the transformer block over each history position
    /// (8H² + 4HI + 4LH, I = 2H), the output projection per user (2H²) and the similarities (2NH per user).
    /// </summary>
    public static double StepGflops(int hidden, int users, int length, int negatives)
    {
        double h = hidden, positions = (double)users * length;
        var forward = (positions * 2 * h * h) + (positions * ((8 * h * h) + (4 * h * 2 * h) + (4 * length * h)))
            + (users * 2 * h * h) + (negatives * 2 * h * h) + (users * 2.0 * negatives * h);
        return 3 * forward / 1e9;
    }

    /// <summary>Newest-first item indices [rows, longest] (capped at <see cref="SequenceTowers.MaxHistory"/>), -1 padding.</summary>
    private Tensor HistoryTensor(IReadOnlyList<int[]> histories, IReadOnlyList<int> lengths)
    {
        var width = Math.Min(SequenceTowers.MaxHistory, lengths.Max());
        var indices = new long[histories.Count * width];
        Array.Fill(indices, -1L);
        for (var r = 0; r < histories.Count; r++)
        {
            var history = histories[r];
            var used = Math.Min(width, lengths[r]);
            for (var p = 0; p < used; p++)
            {
                indices[r * width + p] = history[lengths[r] - 1 - p];
            }
        }

        return tensor(indices, [histories.Count, width], device: device);
    }

    private Tensor Gather(Tensor indices, Tensor? table = null)
    {
        using var known = indices.clamp_min(0);
        using var flat = known.view(-1);
        using var rows = (table ?? textVectors).index_select(0, flat);
        return rows.view(indices.shape[0], indices.shape[1], Hidden);
    }

    /// <summary>Batches of examples with equal capped history length, so padding costs nothing.</summary>
    private static List<List<(int[] History, int Target)>> Buckets(List<(int[] History, int Target)> examples, int batchSize)
    {
        var batches = new List<List<(int[] History, int Target)>>();
        foreach (var bucket in examples.GroupBy(e => Math.Min(e.History.Length, SequenceTowers.MaxHistory)).OrderBy(g => g.Key))
        {
            var members = bucket.ToList();
            for (var start = 0; start < members.Count; start += batchSize)
            {
                batches.Add(members.GetRange(start, Math.Min(batchSize, members.Count - start)));
            }
        }

        return batches;
    }

    private static Dictionary<string, Tensor> Snapshot(SequenceTowers towers) =>
        towers.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone());

    private static void Restore(SequenceTowers towers, Dictionary<string, Tensor> state)
    {
        using var noGrad = no_grad();
        foreach (var (name, value) in towers.state_dict())
        {
            value.copy_(state[name]);
        }
    }

    private static void DisposeState(Dictionary<string, Tensor> state)
    {
        foreach (var tensor in state.Values)
        {
            tensor.Dispose();
        }
    }

    public void Dispose()
    {
        foreach (var towers in members)
        {
            towers.Dispose();
        }

        itemTexts.Dispose();
        textVectors.Dispose();
        allItems.Dispose();
        ownRows?.Dispose();
    }
}
