using NUnit.Framework;

namespace Registry.Tests.Support;

/// <summary>A fresh in-process registry (temp storage, temp search database) for every test.</summary>
public abstract class RegistryTestBase
{
    protected TestRegistry Registry { get; set; } = null!;

    protected HttpClient Client => Registry.Client;

    [SetUp]
    public void StartRegistry() => Registry = TestRegistry.Start();

    [TearDown]
    public async Task StopRegistry() => await Registry.DisposeAsync();
}
