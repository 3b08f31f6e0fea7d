using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using Microsoft.AspNetCore.TestHost;
using NUnit.Framework;
using Registry.Core.Maintenance;
using Registry.Index.Accounts;
using Registry.Tests.Support;

namespace Registry.Tests.Maintenance;

/// <summary><c>POST /v1/_gc</c> (admins only with auth; loopback only without) and the <c>gc</c> verb as a real process.</summary>
public class GcEntryPointTests
{
    [Test]
    public async Task Without_auth_a_loopback_client_gets_the_json_report()
    {
        await using var registry = TestRegistry.Start(new Dictionary<string, string> { ["REGISTRY_GC_GRACE_SECONDS"] = "0" });
        var id = V1Client.NewImageId();
        await registry.Client.PushImageAsync(id, V1Client.RandomBytes(500));
        var bytes = GcTestKit.Bytes(registry.StorageRoot, $"images/{id}");

        var dry = await PostAsync(registry, "/v1/_gc?dry_run=true", IPAddress.Loopback);
        dry.Status.Should().Be(200, dry.Body);
        using (var doc = JsonDocument.Parse(dry.Body))
        {
            doc.RootElement.GetProperty("dry_run").GetBoolean().Should().BeTrue();
            doc.RootElement.GetProperty("total_bytes").GetInt64().Should().Be(bytes);
            doc.RootElement.GetProperty("items")[0].GetProperty("id").GetString().Should().Be(id);
            doc.RootElement.GetProperty("repositories")[0].GetProperty("name").GetString().Should().Be("");
        }
        Directory.Exists(Path.Combine(registry.StorageRoot, "images", id)).Should().BeTrue();

        var real = await PostAsync(registry, "/v1/_gc?dry_run=false&delete_untagged=false", IPAddress.IPv6Loopback);
        real.Status.Should().Be(200, real.Body);
        using (var doc = JsonDocument.Parse(real.Body))
            doc.RootElement.GetProperty("total_bytes").GetInt64().Should().Be(bytes);
        Directory.Exists(Path.Combine(registry.StorageRoot, "images", id)).Should().BeFalse();

        (await PostAsync(registry, "/v1/_gc?dry_run=maybe", IPAddress.Loopback))
            .Should().Be((400, "{\"error\": \"dry_run and delete_untagged take true or false\"}"));
    }

    [Test]
    public async Task The_report_lists_the_first_items_one_by_one_and_counts_the_rest()
    {
        await using var registry = TestRegistry.Start(new Dictionary<string, string> { ["REGISTRY_GC_GRACE_SECONDS"] = "0" });
        // Blobs no repository names, written as the layout has them (docs/storage-layout.md, 'V2 tree'): 1 byte each.
        var count = GcRun.ReportedItems + 3;
        for (var i = 0; i < count; i++)
        {
            var hex = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(BitConverter.GetBytes(i)));
            var dir = Directory.CreateDirectory(Path.Combine(registry.StorageRoot, "docker/registry/v2/blobs/sha256", hex[..2], hex));
            await File.WriteAllBytesAsync(Path.Combine(dir.FullName, "data"), [(byte)i]);
        }

        var dry = await PostAsync(registry, "/v1/_gc?dry_run=true", IPAddress.Loopback);
        dry.Status.Should().Be(200, dry.Body);
        using var doc = JsonDocument.Parse(dry.Body);
        doc.RootElement.GetProperty("total_items").GetInt32().Should().Be(count);
        doc.RootElement.GetProperty("total_bytes").GetInt64().Should().Be(count);
        doc.RootElement.GetProperty("items").GetArrayLength().Should().Be(GcRun.ReportedItems);
        doc.RootElement.GetProperty("items_omitted").GetInt32().Should().Be(3);
        var repository = doc.RootElement.GetProperty("repositories").EnumerateArray().Single();
        repository.GetProperty("blobs").GetInt32().Should().Be(count);
        repository.GetProperty("bytes").GetInt64().Should().Be(count);
    }

    [Test]
    public async Task Without_auth_a_remote_client_is_refused()
    {
        await using var registry = TestRegistry.Start();
        (await PostAsync(registry, "/v1/_gc", IPAddress.Parse("10.1.2.3")))
            .Should().Be((403, "{\"error\": \"Garbage collection is only allowed from the local host when authentication is off\"}"));
    }

    [Test]
    public async Task With_auth_only_admins_may_run_it()
    {
        var root = Path.Combine(Path.GetTempPath(), "registry-gc-auth-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        var htpasswd = Path.Combine(root, "htpasswd");
        await File.WriteAllLinesAsync(htpasswd, [HtpasswdFile.Line("root", "root-pw"), HtpasswdFile.Line("alice", "alice-pw")]);
        await using var registry = TestRegistry.Start(new Dictionary<string, string>
        {
            ["REGISTRY_AUTH"] = "htpasswd",
            ["REGISTRY_AUTH_HTPASSWD_PATH"] = htpasswd,
            ["REGISTRY_AUTH_ADMINS"] = "root",
        }, root);

        var anonymous = await registry.Client.PostAsync("/v1/_gc?dry_run=true", null);
        ((int)anonymous.StatusCode).Should().Be(401);
        anonymous.Headers.WwwAuthenticate.ToString().Should().Be("Basic realm=\"Registry Realm\"");
        (await Send(registry, "alice", "wrong")).Should().Be((401, "{\"error\": \"Invalid credentials\"}"));
        (await Send(registry, "alice", "alice-pw")).Should().Be((403, "{\"error\": \"Garbage collection is for admins only\"}"));
        var admin = await Send(registry, "root", "root-pw");
        admin.Status.Should().Be(200, admin.Body);
        admin.Body.Should().StartWith("{\"dry_run\":true,\"delete_untagged\":false,");
    }

    [Test]
    [Category("e2e")]
    public async Task Gc_verb_prints_per_repository_lines_and_the_bytes()
    {
        await using var registry = TestRegistry.Start();
        var (keep, drop) = (V1Client.NewImageId(), V1Client.NewImageId());
        await registry.Client.PushImageAsync(keep, V1Client.RandomBytes(100));
        await registry.Client.PushImageAsync(drop, V1Client.RandomBytes(200), keep);
        (await registry.Client.PutTagAsync("verb/repo", "latest", drop).ReadAsync()).Status.Should().Be(200);
        (await registry.Client.PutTagAsync("verb/base", "latest", keep).ReadAsync()).Status.Should().Be(200);
        (await registry.Client.DeleteAsync("/v1/repositories/verb/repo/tags/latest").ReadAsync()).Status.Should().Be(200);
        var bytes = GcTestKit.Bytes(registry.StorageRoot, $"images/{drop}");
        var env = new Dictionary<string, string?>
        {
            ["STORAGE_PATH"] = registry.StorageRoot,
            ["SQLALCHEMY_INDEX_DATABASE"] = "sqlite:///" + registry.DatabasePath,
            ["REGISTRY_GC_GRACE_SECONDS"] = "0",
        };

        var dry = await RegistryProcess.RunOnceAsync(env, "gc", "--dry-run");
        dry.ExitCode.Should().Be(0, dry.Stderr);
        dry.Stdout.Should().StartWith($"verb/repo: would delete 1 image ({bytes} bytes)\n")
            .And.Contain("1 V1 images and 0 v2 blobs marked").And.Contain($"would free {bytes} bytes in ");
        Directory.Exists(Path.Combine(registry.StorageRoot, "images", drop)).Should().BeTrue();

        var real = await RegistryProcess.RunOnceAsync(env, "gc");
        real.ExitCode.Should().Be(0, real.Stderr);
        real.Stdout.Should().StartWith($"verb/repo: deleted 1 image ({bytes} bytes)\n").And.Contain($"freed {bytes} bytes in ");
        Directory.Exists(Path.Combine(registry.StorageRoot, "images", drop)).Should().BeFalse();

        var usage = await RegistryProcess.RunOnceAsync(env, "gc", "--force");
        usage.ExitCode.Should().Be(2);
        usage.Stderr.Should().Be("gc: unknown option --force; usage: registry gc [--dry-run] [--delete-untagged] (see registry gc --help)\n");
    }

    private static async Task<(int Status, string Body)> Send(TestRegistry registry, string user, string password)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/_gc?dry_run=true");
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));
        return await registry.Client.SendAsync(request).ReadAsync();
    }

    /// <summary>A POST through the in-process server with the client address set (TestServer has no sockets).</summary>
    private static async Task<(int Status, string Body)> PostAsync(TestRegistry registry, string pathAndQuery, IPAddress remote)
    {
        var server = registry.Services.GetService(typeof(Microsoft.AspNetCore.Hosting.Server.IServer)) as TestServer
            ?? throw new InvalidOperationException("not a TestServer");
        var question = pathAndQuery.IndexOf('?');
        var context = await server.SendAsync(c =>
        {
            c.Request.Method = "POST";
            c.Request.Path = question < 0 ? pathAndQuery : pathAndQuery[..question];
            c.Request.QueryString = new Microsoft.AspNetCore.Http.QueryString(question < 0 ? "" : pathAndQuery[question..]);
            c.Connection.RemoteIpAddress = remote;
        });
        using var reader = new StreamReader(context.Response.Body);
        return (context.Response.StatusCode, await reader.ReadToEndAsync());
    }
}
