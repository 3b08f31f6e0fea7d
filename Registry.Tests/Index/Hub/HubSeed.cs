using System.Net;
using FluentAssertions;
using Registry.Tests.Support;

namespace Registry.Tests.Index.Hub;

/// <summary>Repositories for the Hub tests, pushed over V1 as a real client would.</summary>
public static class HubSeed
{
    /// <summary>Pushes one image and tags it <c>latest</c> in each repository, as <paramref name="user"/> (its password is the name + "-pw").</summary>
    public static async Task PushAsync(TestRegistry registry, string? user, params string[] repositories)
    {
        using var client = new HttpClient(registry.CreateHandler()) { BaseAddress = registry.Client.BaseAddress };
        if (user is not null) client.DefaultRequestHeaders.Authorization = TestRegistry.Basic(user, user + "-pw");
        var id = V1Client.NewImageId();
        await client.PushImageAsync(id, V1Client.RandomBytes(64));
        foreach (var repository in repositories)
            (await client.PutTagAsync(repository, "latest", id)).StatusCode.Should().Be(HttpStatusCode.OK, repository);
    }
}
