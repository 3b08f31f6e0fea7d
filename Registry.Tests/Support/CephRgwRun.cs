using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests;

/// <summary>
/// Stops the run's shared Ceph RGW (<see cref="CephRgw.SharedAsync"/>) after the last test of every namespace
/// below Registry.Tests. Nothing starts here: the gateway starts only when a test first needs it.
/// </summary>
[SetUpFixture]
public sealed class CephRgwRun
{
    [OneTimeTearDown]
    public Task StopSharedGatewayAsync() => CephRgw.StopSharedAsync();
}
