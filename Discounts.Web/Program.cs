// Verbs beside the default `serve`: each one runs and exits without starting the web host.
return args.FirstOrDefault() switch
{
    _ => 0,
};

public partial class Program;
