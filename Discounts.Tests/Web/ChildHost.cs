using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Discounts.Core.Data;
using Discounts.Web.Infrastructure;

namespace Discounts.Tests.Web;

/// <summary>
/// The real host as a child process (<c>dotnet Discounts.Web.dll</c> from the build output), on its own port and
/// data directory, so tests can kill it with SIGKILL and start it again on the same files.
/// </summary>
public sealed class ChildHost : IDisposable
{
    public const string AdminKey = "child-host-admin-key-0123456789";

    private readonly Process process;
    private readonly ConcurrentQueue<string> output = new();

    private ChildHost(Process process, Uri address)
    {
        this.process = process;
        Address = address;
        Client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };
        Client.DefaultRequestHeaders.Add(ApiKeyStore.HeaderName, AdminKey);
        Client.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        process.OutputDataReceived += (_, line) => { if (line.Data is not null) output.Enqueue(line.Data); };
        process.ErrorDataReceived += (_, line) => { if (line.Data is not null) output.Enqueue(line.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public Uri Address { get; }

    public HttpClient Client { get; }

    public IReadOnlyList<string> Output => output.ToList();

    /// <summary>Discounts.Web.dll of the same configuration as this test assembly.</summary>
    public static string WebDll
    {
        get
        {
            var testOutput = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var configuration = testOutput.Parent!.Name;
            var built = Path.Combine(RepositoryRoot.Find(), "Discounts.Web", "bin", configuration, testOutput.Name, "Discounts.Web.dll");
            if (File.Exists(built)) return built;
            var copied = Path.Combine(AppContext.BaseDirectory, "Discounts.Web.dll");
            return File.Exists(Path.ChangeExtension(copied, ".runtimeconfig.json"))
                ? copied
                : throw new FileNotFoundException($"Build Discounts.Web first: {built} is missing.", built);
        }
    }

    public static async Task<ChildHost> StartAsync(string dataDirectory, IReadOnlyDictionary<string, string>? settings = null)
    {
        var port = FreePort();
        var address = new Uri($"http://127.0.0.1:{port}");
        var dll = WebDll;
        var start = new ProcessStartInfo("dotnet")
        {
            // Started from a folder that is not the build output, as a service manager or the load scripts start it.
            WorkingDirectory = Directory.Exists(dataDirectory) ? dataDirectory : Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add(address.ToString().TrimEnd('/'));
        var environment = new Dictionary<string, string>
        {
            ["Storage__DataDirectory"] = dataDirectory,
            ["Demo__Seed"] = "false",
            ["Training__ScorerBase"] = "Tiny",
            ["Training__FirstRunOnSeed"] = "false",
            ["Training__Threads"] = "1",
            ["Auth__Keys__0__Key"] = AdminKey,
            ["Auth__Keys__0__Role"] = "Admin",
            ["Auth__Keys__0__PermitsPerSecond"] = "1000000",
            ["Logging__LogLevel__Default"] = "Information",
            ["DOTNET_gcServer"] = "0",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var host = new ChildHost(Process.Start(start)!, address);
        await host.WaitReadyAsync(TimeSpan.FromMinutes(3));
        return host;
    }

    /// <summary>Removes a child host's data directory once its connections are closed; a file a killed host held is left to the OS.</summary>
    public static void RemoveDataDirectory(string dataDirectory)
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(dataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A file the stopped host still held; the OS cleans temp.
        }
    }

    /// <summary>SIGKILL on Linux: no shutdown hooks, no flushing, like a power cut to the process.</summary>
    public void Kill()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(30_000);
        }
    }

    public async Task<bool> WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (output.Any(line => line.Contains(text, StringComparison.Ordinal))) return true;
            await Task.Delay(200);
        }

        return false;
    }

    public void Dispose()
    {
        Kill();
        Client.Dispose();
        process.Dispose();
    }

    private async Task WaitReadyAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The host exited with {process.ExitCode}:\n{string.Join("\n", output.TakeLast(40))}");
            }

            try
            {
                using var response = await Client.GetAsync("/health/ready");
                if (response.StatusCode == HttpStatusCode.OK) return;
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(250);
        }

        throw new TimeoutException($"The host at {Address} was not ready within {timeout}:\n{string.Join("\n", output.TakeLast(40))}");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
