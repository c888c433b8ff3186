using Discounts.Web.Cli;

// Verbs beside the default `serve`: each one runs and exits without starting the web host.
return args.FirstOrDefault() switch
{
    "benchmark-bert" => await BenchmarkBertVerb.RunAsync(args[1..]),
    _ => 0,
};

public partial class Program;
