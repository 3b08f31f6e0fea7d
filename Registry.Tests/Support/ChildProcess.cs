using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using NUnit.Framework;

namespace Registry.Tests.Support;

/// <summary>
/// What the harnesses of real servers (PostgreSQL, Redis, Ceph RGW, dockerd) share: finding a tool, skipping a test
/// that cannot have it, running a tool to its end within a bound, and stopping a child by its PID.
/// </summary>
internal static class ChildProcess
{
    /// <summary>The first <paramref name="tool"/> in a folder of PATH, then of <paramref name="alsoIn"/>; null when none has it.</summary>
    public static string? FindOnPath(string tool, params string[] alsoIn) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
        .Split(':', StringSplitOptions.RemoveEmptyEntries)
        .Concat(alsoIn)
        .Select(dir => Path.Combine(dir, tool))
        .FirstOrDefault(File.Exists);

    /// <summary>
    /// Ignores the current test (locally) or fails it (CI=true) because <paramref name="message"/> says what it needs
    /// is missing: CI's test command installs every server (scripts/provision-test-deps.sh).
    /// </summary>
    [DoesNotReturn]
    public static void MissingDependency(string message)
    {
        if (Environment.GetEnvironmentVariable("CI") == "true") Assert.Fail(message);
        Assert.Ignore(message);
        throw new UnreachableException();
    }

    /// <summary>
    /// Starts <paramref name="info"/> (with stdout and stderr redirected) and waits for its end; returns stdout. Throws with
    /// its output when it fails, and kills it (SIGKILL) when it outlives <paramref name="timeout"/>.
    /// </summary>
    public static async Task<string> RunToEndAsync(ProcessStartInfo info, TimeSpan timeout)
    {
        var command = $"{info.FileName} {string.Join(' ', info.ArgumentList)}";
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {info.FileName}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!await WaitForExitAsync(process, timeout))
        {
            Posix.Signal(process.Id, Posix.SigKill);
            await WaitForExitAsync(process, timeout);
            throw new TimeoutException($"{command} did not finish within {timeout.TotalSeconds} s: {await stderr}");
        }
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{command} exited with {process.ExitCode}: {await stderr}{await stdout}");
        return await stdout;
    }

    /// <summary>
    /// Sends <paramref name="process"/> SIGTERM and waits up to <paramref name="timeout"/>; then SIGKILL and the same wait.
    /// Notes the kill in <paramref name="output"/>. Returns false when it outlived even SIGKILL's wait.
    /// </summary>
    public static async Task<bool> TerminateAsync(Process process, TimeSpan timeout, ProcessOutput? output = null)
    {
        if (process.HasExited) return true;
        Posix.Signal(process.Id, Posix.SigTerm);
        if (await WaitForExitAsync(process, timeout)) return true;
        output?.Note($"pid {process.Id} ignored SIGTERM; SIGKILL");
        Posix.Signal(process.Id, Posix.SigKill);
        return await WaitForExitAsync(process, timeout);
    }

    /// <summary>True once <paramref name="process"/> has exited, false when it still runs after <paramref name="timeout"/>.</summary>
    public static async Task<bool> WaitForExitAsync(Process process, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
