namespace Discounts.Tests.Web;

/// <summary>Runs a command-line verb with stdout captured and stderr (its progress) discarded.</summary>
public static class VerbConsole
{
    public static (int ExitCode, string Stdout) Run(Func<int> verb)
    {
        var output = new StringWriter();
        var originalOut = Console.Out;
        var originalError = Console.Error;
        try
        {
            Console.SetOut(output);
            Console.SetError(TextWriter.Null);
            return (verb(), output.ToString());
        }
        finally
        {
            Console.SetOut(originalOut);
            Console.SetError(originalError);
        }
    }

    /// <summary>Runs the verb with a throwaway directory (a fresh machine's data directory, or input files) and deletes it after.</summary>
    public static (int ExitCode, string Stdout) RunInThrowawayDirectory(string prefix, Func<string, int> verb)
    {
        var directory = Directory.CreateTempSubdirectory(prefix).FullName;
        try
        {
            return Run(() => verb(directory));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
