using System.Net;
using System.Text;
using FluentAssertions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using NUnit.Framework;
using Registry.Tests.Support;
using static Registry.Tests.Mirror.V1MirrorKit;

namespace Registry.Tests.Mirror;

/// <summary>
/// <c>GET /v1/repositories/&lt;repo&gt;/json</c> on a V1 mirror (docs/configuration.md, 'V1 mirroring'): copied from the
/// upstream on a miss, answered from the copy within <c>tags_cache_ttl</c> and while the upstream is down, never asked
/// for a local repository; and the upstream credentials of <c>mirroring.username</c>/<c>password</c>.
/// </summary>
public class V1MirrorRepositoryJsonTests
{
    [Test]
    public async Task The_repository_json_is_copied_on_a_miss_kept_for_the_ttl_and_served_with_the_upstream_down()
    {
        await using var upstream = await StartUpstreamAsync();
        await PushAsync(upstream.Client, "team/meta", "latest", V1Client.RandomBytes(1000));
        var (status, first) = await upstream.Client.GetAsync("/v1/repositories/team/meta/json").ReadAsync();
        status.Should().Be(200);
        first.Should().Contain("\"last_update\"");
        await using var mirror = StartMirror(upstream, tagsTtlSeconds: 2);

        (await mirror.Client.GetAsync("/v1/repositories/team/meta/json").ReadAsync()).Should().Be((200, first));
        var copiedAt = DateTime.UtcNow;
        (await mirror.Storage.GetContentAsync("repositories/team/meta/json", CancellationToken.None)).Should().Equal(Encoding.UTF8.GetBytes(first));

        // The upstream's json changes: the copy answers within the ttl, the new one after it.
        var second = "{\"arch\": \"arm64\", \"docker_go_version\": \"go1.3\", \"docker_version\": \"1.3.0\", \"kernel\": null, \"last_update\": 1400000000, \"os\": \"linux\"}";
        await File.WriteAllTextAsync(Path.Combine(upstream.StoragePath, "repositories", "team", "meta", "json"), second);
        var within = await mirror.Client.GetAsync("/v1/repositories/team/meta/json").ReadAsync();
        DateTime.UtcNow.Should().BeBefore(copiedAt.AddSeconds(2), "the check above must run within the ttl");
        within.Should().Be((200, first));
        (await RequestsLoggedAsync(upstream, "/v1/repositories/team/meta/json", 2)).Should().Be(2, "the test's own GET and the mirror's first");

        await Task.Delay(copiedAt.AddSeconds(2.5) - DateTime.UtcNow);
        (await mirror.Client.GetAsync("/v1/repositories/team/meta/json").ReadAsync()).Should().Be((200, second));

        await upstream.StopAsync();
        await Task.Delay(2500);
        (await mirror.Client.GetAsync("/v1/repositories/team/meta/json").ReadAsync()).Should().Be((200, second));
        (await mirror.Client.GetAsync("/v1/repositories/team/never/json").ReadAsync())
            .Should().Be((503, Error($"Upstream http://127.0.0.1:{upstream.Port} is unreachable, retry later")));
    }

    [Test]
    public async Task A_local_repository_answers_its_own_json_without_asking_and_an_upstream_404_is_the_default()
    {
        await using var upstream = await StartUpstreamAsync();
        await PushAsync(upstream.Client, "team/both", "latest", V1Client.RandomBytes(100));
        await using var mirror = StartMirror(upstream);
        await PushAsync(mirror.Client, "team/both", "latest", V1Client.RandomBytes(100));
        var local = Encoding.UTF8.GetString((await mirror.Storage.GetContentAsync("repositories/team/both/json", CancellationToken.None))!);

        (await mirror.Client.GetAsync("/v1/repositories/team/both/json").ReadAsync()).Should().Be((200, local));
        RequestsLogged(upstream, "/v1/repositories/team/both/json").Should().Be(0);

        // The upstream (ours) answers a repository it does not have with its default object, which the mirror relays.
        const string defaultJson = "{\"arch\": \"amd64\", \"docker_go_version\": null, \"docker_version\": null, \"kernel\": null, \"last_update\": null, \"os\": \"linux\"}";
        (await mirror.Client.GetAsync("/v1/repositories/team/nowhere/json").ReadAsync()).Should().Be((200, defaultJson));
    }

    [Test]
    public async Task Mirroring_username_and_password_reach_a_private_upstream_and_a_wrong_password_is_502()
    {
        await using var @private = await StartPrivateUpstreamAsync();
        var (upstream, admin, image) = (@private.Upstream, @private.Admin, @private.Image);
        var (_, json) = await admin.GetAsync("/v1/repositories/team/private/json").ReadAsync();

        await using (var mirror = Start(upstream, "s3cret-pw"))
        {
            using (var response = await mirror.Client.SendAsync(IndexImagesRequest("team/private")))
                ((int)response.StatusCode).Should().Be(200);
            (await mirror.Client.GetAsync("/v1/repositories/team/private/tags").ReadAsync()).Should().Be((200, $"{{\"latest\": \"{image.Id}\"}}"));
            (await mirror.Client.GetAsync("/v1/repositories/team/private/json").ReadAsync()).Should().Be((200, json));
            (await mirror.Client.GetAsync($"/v1/images/{image.Id}/ancestry").ReadAsync()).Should().Be((200, $"[\"{image.Id}\"]"));
            (await mirror.Client.GetAsync($"/v1/images/{image.Id}/layer").BytesAsync()).Should().Equal(image.Layer);
        }

        await using var wrong = Start(upstream, "wrong-pw");
        (await wrong.Client.GetAsync("/v1/repositories/team/private/json").ReadAsync())
            .Should().Be((502, Error($"Upstream http://127.0.0.1:{upstream.Port} refused the mirror's credentials (401)")));
    }

    [Test]
    public async Task An_index_that_sends_its_token_only_as_a_www_authenticate_challenge_opens_the_private_registry()
    {
        await using var @private = await StartPrivateUpstreamAsync();
        var (upstream, admin, image) = (@private.Upstream, @private.Admin, @private.Image);

        // The upstream's own index, relayed with the credentials, answering with the challenge and no X-Docker-Token.
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var port = FreePort.Next();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, port));
        await using var index = builder.Build();
        index.MapGet("/v1/repositories/{ns}/{repo}/images", async (string ns, string repo, HttpContext context) =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/repositories/{ns}/{repo}/images");
            request.Headers.Add("X-Docker-Token", "true");
            using var answer = await admin.SendAsync(request);
            context.Response.StatusCode = (int)answer.StatusCode;
            context.Response.Headers.WWWAuthenticate = answer.Headers.WwwAuthenticate.ToString();
            await context.Response.Body.WriteAsync(await answer.Content.ReadAsByteArrayAsync());
        });
        await index.StartAsync();

        await using var mirror = TestRegistry.Start(new Dictionary<string, string>
        {
            ["MIRROR_SOURCE"] = upstream.BaseAddress.AbsoluteUri,
            ["MIRROR_SOURCE_INDEX"] = $"http://127.0.0.1:{port}",
        });
        (await mirror.Client.GetAsync("/v1/repositories/team/private/tags").ReadAsync()).Should().Be((200, $"{{\"latest\": \"{image.Id}\"}}"));
        (await mirror.Client.GetAsync($"/v1/images/{image.Id}/layer").BytesAsync()).Should().Equal(image.Layer);
    }

    private static TestRegistry Start(RegistryProcess upstream, string password) =>
        TestRegistry.Start(new Dictionary<string, string>
        {
            ["MIRROR_SOURCE"] = upstream.BaseAddress.AbsoluteUri,
            ["MIRROR_SOURCE_INDEX"] = upstream.BaseAddress.AbsoluteUri,
            ["MIRROR_USERNAME"] = "mirror",
            ["MIRROR_PASSWORD"] = password,
        });
}
