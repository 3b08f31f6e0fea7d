using System.Net;
using System.Net.Http.Headers;
using System.Text;
using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Distribution;
using Registry.Index.Accounts;
using Registry.Tests.Support;

namespace Registry.Tests.Observability;

/// <summary>
/// The audit log of a real registry process with htpasswd auth: one <c>Registry.Audit</c> line per write and delete,
/// with the user, client address, repository, reference, status and request id; reads leave no audit line.
/// </summary>
[TestFixture]
public sealed class AuditLogTests
{
    private string _htpasswd = "";
    private RegistryProcess _registry = null!;
    private HttpClient _alice = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _htpasswd = Path.Combine(Path.GetTempPath(), "audit-htpasswd-" + Guid.NewGuid().ToString("N"));
        await File.WriteAllTextAsync(_htpasswd, HtpasswdFile.Line("alice", "alice-pw") + "\n");
        _registry = await RegistryProcess.StartAsync(new Dictionary<string, string?>
        {
            ["REGISTRY_AUTH"] = "htpasswd",
            ["REGISTRY_AUTH_HTPASSWD_PATH"] = _htpasswd,
            ["REGISTRY_STORAGE_DELETE_ENABLED"] = "true",
        });
        _alice = new HttpClient { BaseAddress = _registry.BaseAddress };
        _alice.DefaultRequestHeaders.Authorization = TestRegistry.Basic("alice", "alice-pw");
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        _alice.Dispose();
        await _registry.DisposeAsync();
        File.Delete(_htpasswd);
    }

    [Test]
    public async Task V2_manifest_put_and_delete_are_audited_with_user_and_digest()
    {
        var config = await UploadAsync("alice/app", Encoding.UTF8.GetBytes("{\"architecture\":\"amd64\",\"os\":\"linux\"}"), V2Seed.OciConfigType);
        var layer = await UploadAsync("alice/app", V1Client.RandomBytes(500), V2Seed.OciLayerType);
        var manifest = V2Seed.OciManifest(config, layer);

        using var put = await Send(HttpMethod.Put, "/v2/alice/app/manifests/v1", ("X-Request-Id", "audit-put-1"), manifest);
        put.StatusCode.Should().Be(HttpStatusCode.Created);
        using var delete = await Send(HttpMethod.Delete, $"/v2/alice/app/manifests/{manifest.Digest}", ("X-Request-Id", "audit-del-1"));
        delete.StatusCode.Should().Be(HttpStatusCode.Accepted);

        (await AuditLineAsync("audit-put-1")).Should().EndWith(
            "audit PUT /v2/<name>/manifests/<reference> user=alice client=127.0.0.1 repository=alice/app reference=v1 status=201 request_id=audit-put-1");
        (await AuditLineAsync("audit-del-1")).Should().EndWith(
            $"audit DELETE /v2/<name>/manifests/<reference> user=alice client=127.0.0.1 repository=alice/app reference={manifest.Digest} status=202 request_id=audit-del-1");
        // Each blob upload commit is audited with the blob's digest.
        (await LogCapture.WaitForLineAsync(_registry, l => l.Contains($"audit POST /v2/<name>/blobs/uploads/ user=alice client=127.0.0.1 repository=alice/app reference={layer.Digest} status=201")))
            .Should().Contain("Registry.Audit");
    }

    [Test]
    public async Task V1_tag_write_and_delete_are_audited_and_refusals_too()
    {
        var id = V1Client.NewImageId();
        await _alice.PushImageAsync(id, V1Client.RandomBytes(100));
        using (var tag = await _alice.PutTagAsync("alice/web", "latest", id)) tag.StatusCode.Should().Be(HttpStatusCode.OK);

        using var read = new HttpRequestMessage(HttpMethod.Get, "/v1/repositories/alice/web/tags") { Headers = { { "X-Request-Id", "audit-v1-read" } } };
        (await _alice.SendAsync(read)).StatusCode.Should().Be(HttpStatusCode.OK);
        using var delete = await Send(HttpMethod.Delete, "/v1/repositories/alice/web/tags/latest", ("X-Request-Id", "audit-v1-del"));
        delete.StatusCode.Should().Be(HttpStatusCode.OK);
        using var anonymous = new HttpRequestMessage(HttpMethod.Delete, "/v1/repositories/alice/web/tags/latest") { Headers = { { "X-Request-Id", "audit-v1-anon" } } };
        (await _registry.Client.SendAsync(anonymous)).StatusCode.Should().Be(HttpStatusCode.Unauthorized);

        (await AuditLineAsync("audit-v1-del")).Should().EndWith(
            "audit DELETE /v1/repositories/{repo}/tags/{tag} user=alice client=127.0.0.1 repository=alice/web reference=latest status=200 request_id=audit-v1-del");
        (await AuditLineAsync("audit-v1-anon")).Should().EndWith(
            "audit DELETE /v1/repositories/{repo}/tags/{tag} user=- client=127.0.0.1 repository=alice/web reference=latest status=401 request_id=audit-v1-anon");
        (await LogCapture.WaitForLineAsync(_registry, l => l.Contains($"audit PUT /v1/images/{{imageId}}/layer user=alice client=127.0.0.1 repository=- reference={id} status=200")))
            .Should().Contain("Registry.Audit");
        (await LogCapture.WaitForLineAsync(_registry, l => l.Contains("id=audit-v1-read")))
            .Should().Contain("GET /v1/repositories/alice/web/tags 200", "the request log line carries the id");
        LogCapture.Lines(_registry).Should().NotContain(l => l.Contains("request_id=audit-v1-read"), "reads are not audited");
    }

    [Test]
    public async Task Audit_lines_are_written_at_every_log_level()
    {
        await using var quiet = await RegistryProcess.StartAsync(new Dictionary<string, string?> { ["LOGLEVEL"] = "error" });
        var id = V1Client.NewImageId();
        using var put = new HttpRequestMessage(HttpMethod.Put, $"/v1/images/{id}/json")
        {
            Headers = { { "X-Request-Id", "quiet-put" } },
            Content = new StringContent(V1Client.ImageJson(id), Encoding.UTF8, "application/json"),
        };
        (await quiet.Client.SendAsync(put)).StatusCode.Should().Be(HttpStatusCode.OK);

        (await LogCapture.WaitForLineAsync(quiet, l => l.Contains("request_id=quiet-put"))).Should().EndWith(
            $"audit PUT /v1/images/{{imageId}}/json user=- client=127.0.0.1 repository=- reference={id} status=200 request_id=quiet-put");
        LogCapture.Lines(quiet).Should().NotContain(l => l.Contains("RequestLogMiddleware"), "loglevel error keeps the request log quiet");
    }

    private Task<string> AuditLineAsync(string requestId) =>
        LogCapture.WaitForLineAsync(_registry, l => l.Contains("Registry.Audit") && l.Contains("request_id=" + requestId));

    private async Task<HttpResponseMessage> Send(HttpMethod method, string path, (string Name, string Value) header, SeededManifest? manifest = null)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Add(header.Name, header.Value);
        if (manifest is not null)
        {
            request.Content = new ByteArrayContent(manifest.Bytes);
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(manifest.MediaType);
        }
        return await _alice.SendAsync(request);
    }

    private async Task<SeededBlob> UploadAsync(string name, byte[] content, string mediaType)
    {
        var digest = Digest.Compute("sha256", content);
        var body = new ByteArrayContent(content);
        body.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await _alice.PostAsync($"/v2/{name}/blobs/uploads/?digest={digest}", body);
        response.StatusCode.Should().Be(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return new SeededBlob(digest, content, mediaType);
    }
}
