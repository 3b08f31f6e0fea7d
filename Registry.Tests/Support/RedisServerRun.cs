using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests;

/// <summary>
/// Stops the run's shared Redis (<see cref="RedisServer.SharedAsync"/>) after the last test of every namespace
/// below Registry.Tests. Nothing starts here: the server starts only when a test first needs it.
/// </summary>
[SetUpFixture]
public sealed class RedisServerRun
{
    [OneTimeTearDown]
    public Task StopSharedServerAsync() => RedisServer.StopSharedAsync();
}
