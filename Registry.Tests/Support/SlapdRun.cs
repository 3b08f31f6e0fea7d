using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests;

/// <summary>
/// Stops the run's shared slapd (<see cref="Slapd.SharedAsync"/>) after the last test. Nothing starts here: the server
/// starts only when a test first needs it.
/// </summary>
[SetUpFixture]
public sealed class SlapdRun
{
    [OneTimeTearDown]
    public Task StopSharedServerAsync() => Slapd.StopSharedAsync();
}
