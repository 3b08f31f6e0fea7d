using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests;

/// <summary>
/// Stops the run's shared PostgreSQL (<see cref="PostgresServer.SharedAsync"/>) after the last test of every
/// namespace below Registry.Tests. Nothing starts here: the server starts only when a test first needs it.
/// </summary>
[SetUpFixture]
public sealed class PostgresServerRun
{
    [OneTimeTearDown]
    public Task StopSharedServerAsync() => PostgresServer.StopSharedAsync();
}
