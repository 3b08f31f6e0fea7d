using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests;

/// <summary>
/// Closes the run's shared browser (<see cref="Chromium.SharedAsync"/>) after the last test. Nothing starts here:
/// the browser starts only when a test first needs it.
/// </summary>
[SetUpFixture]
public sealed class ChromiumRun
{
    [OneTimeTearDown]
    public Task StopSharedBrowserAsync() => Chromium.StopSharedAsync();
}
