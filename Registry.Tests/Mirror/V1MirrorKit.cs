using System.Text;
using FluentAssertions;
using Registry.Tests.Support;

namespace Registry.Tests.Mirror;

/// <summary>
/// An upstream (a real registry process of ours) seeded by the docker 1.x push sequence, and a mirror (the in-process
/// app) whose <c>mirroring.source</c> and <c>source_index</c> point at it.
/// </summary>
public static class V1MirrorKit
{
    public sealed record Image(string Id, string Json, byte[] Layer);

    public static Task<RegistryProcess> StartUpstreamAsync(IReadOnlyDictionary<string, string?>? environment = null) =>
        RegistryProcess.StartAsync(new Dictionary<string, string?>(environment ?? new Dictionary<string, string?>()) { ["LOGLEVEL"] = "info" });

    public static TestRegistry StartMirror(RegistryProcess upstream, long tagsTtlSeconds = 172800, string? source = null) =>
        TestRegistry.Start(new Dictionary<string, string>
        {
            ["MIRROR_SOURCE"] = source ?? upstream.BaseAddress.AbsoluteUri,
            ["MIRROR_SOURCE_INDEX"] = source ?? upstream.BaseAddress.AbsoluteUri,
            ["MIRROR_TAGS_CACHE_TTL"] = tagsTtlSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });

    /// <summary>
    /// An upstream that only the user <c>mirror</c> (password <c>s3cret-pw</c>, an admin there) may read, holding
    /// <c>team/private:latest</c>; disposing it stops the upstream and removes its htpasswd file.
    /// </summary>
    public sealed class PrivateUpstream(RegistryProcess upstream, HttpClient admin, Image image, string htpasswd) : IAsyncDisposable
    {
        public RegistryProcess Upstream => upstream;
        public HttpClient Admin => admin;
        public Image Image => image;

        public async ValueTask DisposeAsync()
        {
            admin.Dispose();
            await upstream.DisposeAsync();
            File.Delete(htpasswd);
        }
    }

    public static async Task<PrivateUpstream> StartPrivateUpstreamAsync()
    {
        var htpasswd = Path.Combine(Path.GetTempPath(), $"mirror-htpasswd-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(htpasswd, Registry.Index.Accounts.HtpasswdFile.Line("mirror", "s3cret-pw") + "\n");
        var upstream = await StartUpstreamAsync(new Dictionary<string, string?>
        {
            ["REGISTRY_AUTH"] = "htpasswd",
            ["REGISTRY_AUTH_HTPASSWD_PATH"] = htpasswd,
            ["REGISTRY_AUTH_ANONYMOUS_READ"] = "false",
            ["REGISTRY_AUTH_ADMINS"] = "mirror",
        });
        var admin = new HttpClient { BaseAddress = upstream.BaseAddress };
        admin.DefaultRequestHeaders.Authorization = new("Basic", Convert.ToBase64String("mirror:s3cret-pw"u8.ToArray()));
        var image = (await PushAsync(admin, "team/private", "latest", V1Client.RandomBytes(4000)))[0];
        return new PrivateUpstream(upstream, admin, image, htpasswd);
    }

    /// <summary>Pushes a chain of images (each the parent of the next) and tags the last one.</summary>
    public static async Task<IReadOnlyList<Image>> PushAsync(HttpClient client, string repo, string tag, params byte[][] layers)
    {
        var images = new List<Image>();
        var list = string.Join(",", Enumerable.Range(0, layers.Length).Select(_ => "{}"));
        (await client.PutIndexAsync($"/v1/repositories/{repo}/", "[]").ReadAsync()).Status.Should().Be(200);
        string? parent = null;
        foreach (var layer in layers)
        {
            var id = V1Client.NewImageId();
            var json = await client.PushImageAsync(id, layer, parent);
            images.Add(new Image(id, json, layer));
            parent = id;
        }
        (await client.PutTagAsync(repo, tag, parent!).ReadAsync()).Should().Be((200, "true"));
        var ids = string.Join(", ", images.Select(i => $"{{\"id\": \"{i.Id}\"}}"));
        (await client.PutIndexAsync($"/v1/repositories/{repo}/images", $"[{ids}]").ReadAsync()).Status.Should().Be(204);
        return images;
    }

    public static HttpRequestMessage IndexImagesRequest(string repo)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/repositories/{repo}/images");
        request.Headers.Add("X-Docker-Token", "true");
        return request;
    }

    /// <summary>How many times the upstream logged a GET of <paramref name="path"/> (its request log, one line per request).</summary>
    public static int RequestsLogged(RegistryProcess upstream, string path) =>
        upstream.Output.Split('\n').Count(line => line.Contains($"GET {path} ", StringComparison.Ordinal));

    /// <summary>
    /// <see cref="RequestsLogged"/> once at least <paramref name="expected"/> lines arrived (the upstream logs a request
    /// when its response ends, which the mirror's client may not wait for), or after 10 s.
    /// </summary>
    public static async Task<int> RequestsLoggedAsync(RegistryProcess upstream, string path, int expected = 1)
    {
        for (var i = 0; i < 100 && RequestsLogged(upstream, path) < expected; i++) await Task.Delay(100);
        return RequestsLogged(upstream, path);
    }

    public static string Error(string message) => $"{{\"error\": \"{message}\"}}";

    public static async Task<byte[]> BytesAsync(this Task<HttpResponseMessage> pending)
    {
        using var response = await pending;
        ((int)response.StatusCode).Should().Be(200);
        return await response.Content.ReadAsByteArrayAsync();
    }

    public static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);
}
