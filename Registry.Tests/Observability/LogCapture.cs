using Registry.Tests.Support;

namespace Registry.Tests.Observability;

/// <summary>The server's stdout lines (without the harness prefix), waited for: the console logger writes from a queue.</summary>
internal static class LogCapture
{
    private const string OutPrefix = " out| ";

    public static IEnumerable<string> Lines(RegistryProcess registry) =>
        registry.Output.Split('\n')
            .Select(l => l.TrimEnd('\r'))
            .Where(l => l.Contains(OutPrefix, StringComparison.Ordinal))
            .Select(l => l[(l.IndexOf(OutPrefix, StringComparison.Ordinal) + OutPrefix.Length)..]);

    /// <summary>The first line that <paramref name="match"/> accepts, within 10 seconds; the whole output in the failure otherwise.</summary>
    public static async Task<string> WaitForLineAsync(RegistryProcess registry, Func<string, bool> match)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            if (Lines(registry).FirstOrDefault(match) is { } line) return line;
            if (DateTime.UtcNow > deadline) throw new TimeoutException("no matching log line in:\n" + registry.Output);
            await Task.Delay(50);
        }
    }
}
