using Discounts.Web.Infrastructure;

// Verbs beside the default `serve`: each one runs and exits without starting the web host.
var verb = args.FirstOrDefault();
switch (verb)
{
    case null or "serve":
    case { } when verb.StartsWith('-'):
        await WebHost.Build(verb == "serve" ? args[1..] : args).RunAsync();
        return 0;
    case "import":
        return await Discounts.Web.Cli.ImportVerb.RunAsync(args[1..]);
    case "benchmark-profiles":
        return await Discounts.Web.Cli.BenchmarkProfilesVerb.RunAsync(args[1..]);
    default:
        await Console.Error.WriteLineAsync($"Unknown verb '{verb}'. Verbs: serve (default).");
        return 2;
}

public partial class Program;
