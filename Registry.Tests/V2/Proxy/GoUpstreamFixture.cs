using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests.V2.Proxy;

/// <summary>One Debian Go registry 2.8 per fixture as the mirror's upstream, with a client to seed it by v2 pushes.</summary>
public abstract class GoUpstreamFixture
{
    protected GoRegistry Upstream { get; private set; } = null!;
    protected HttpClient UpstreamClient { get; private set; } = null!;

    [OneTimeSetUp]
    public async Task StartUpstream()
    {
        Upstream = await GoRegistry.StartAsync();
        UpstreamClient = new HttpClient { BaseAddress = Upstream.BaseAddress };
    }

    [OneTimeTearDown]
    public async Task StopUpstream()
    {
        UpstreamClient.Dispose();
        await Upstream.DisposeAsync();
    }
}
