using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Discounts.Tests;

/// <summary>
/// Every log message of the test host, formatted, with its exception and scopes, so tests can scan what the host
/// would have written. TestHost captures from Debug up (EF Core from Information), more than production's configuration lets through.
/// </summary>
public sealed class CapturedLogs : ILoggerProvider
{
    /// <summary>Older entries are dropped past this, so a long test run cannot grow memory without bound.</summary>
    private const int Capacity = 200_000;

    private readonly ConcurrentQueue<(long Sequence, string Line)> lines = new();
    private long sequence;

    public static CapturedLogs Instance { get; } = new();

    /// <summary>The sequence number of the newest entry: pass it to <see cref="Since"/> to read what comes after.</summary>
    public long Mark => Interlocked.Read(ref sequence);

    public IReadOnlyList<string> Since(long mark) => lines.Where(l => l.Sequence > mark).Select(l => l.Line).ToList();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private void Add(string line)
    {
        lines.Enqueue((Interlocked.Increment(ref sequence), line));
        while (lines.Count > Capacity && lines.TryDequeue(out _))
        {
        }
    }

    private sealed class Logger(CapturedLogs owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            // The structured values too: a sink writing JSON would store them even where the template omits one.
            var values = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(" ", pairs.Select(p => $"{p.Key}={p.Value}")) : "";
            owner.Add($"{logLevel} {category}: {formatter(state, exception)} {values} {exception}");
        }
    }
}
