using NUnit.Framework;

namespace Registry.Tests.Support;

/// <summary>
/// One expensive server per test run (Ceph RGW, PostgreSQL): started by the first test that asks, shared by the
/// rest, stopped by the run's SetUpFixture. A start-up failure stays with the tests that asked for it.
/// </summary>
internal sealed class SharedServer<T>(string label) where T : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private Task<T>? _server;

    /// <summary>The running server, or the start that is under way; <paramref name="start"/> runs at most once.</summary>
    public Task<T> GetAsync(Func<Task<T>> start)
    {
        lock (_lock)
        {
            return _server ??= start();
        }
    }

    /// <summary>Stops the server if one was started.</summary>
    public async Task StopAsync()
    {
        Task<T>? server;
        lock (_lock)
        {
            server = _server;
            _server = null;
        }
        if (server is null) return;
        try
        {
            await (await server).DisposeAsync();
        }
        catch (Exception e) when (server.IsFaulted)
        {
            // It never started; its start-up failure was reported by the tests that asked for it.
            await TestContext.Progress.WriteLineAsync($"shared {label} had failed to start: {e.Message}");
        }
    }
}
