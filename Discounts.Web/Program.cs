using Discounts.Web.Cli;
using Discounts.Web.Infrastructure;
using Discounts.Web.Modules;

// Verbs beside the default `serve`: each one runs and exits without starting the web host.
var verb = args.FirstOrDefault();
switch (verb)
{
    case null or "serve":
    case { } when verb.StartsWith('-'):
        await WebHost.Build(verb == "serve" ? args[1..] : args).RunAsync();
        return 0;
    case "benchmark-bert":
        return await BenchmarkBertVerb.RunAsync(args[1..]);
    case "evaluate-uplift":
        return RunVerb(() => EvaluateUpliftVerb.Run(args[1..]));
    case "import":
        return await ImportVerb.RunAsync(args[1..]);
    case "benchmark-profiles":
        return await BenchmarkProfilesVerb.RunAsync(args[1..]);
    case "benchmark-refresh":
        return RunVerb(() => BenchmarkRefreshVerb.RunAsync(args[1..]).GetAwaiter().GetResult());
    case "evaluate-ranking":
        return RunVerb(() => EvaluateRankingVerb.Run(args[1..]));
    case "simulate-discounts":
        return RunVerb(() => SimulateDiscountsVerb.Run(args[1..]));
    case "evaluate-vector-search":
        return RunVerb(() => EvaluateVectorSearchVerb.Run(args[1..]));
    case "evaluate-blend":
        return RunVerb(() => EvaluateBlendVerb.Run(args[1..]));
    default:
        await Console.Error.WriteLineAsync($"Unknown verb '{verb}'. Verbs: serve (default), import, evaluate-ranking, evaluate-blend, evaluate-vector-search, evaluate-uplift, simulate-discounts, benchmark-bert, benchmark-profiles, benchmark-refresh.");
        return 2;
}

// A verb's usage error is a message and exit code 2, not a stack trace.
static int RunVerb(Func<int> verb)
{
    try
    {
        return verb();
    }
    catch (CliException error)
    {
        Console.Error.WriteLine(error.Message);
        return 2;
    }
}

public partial class Program;
