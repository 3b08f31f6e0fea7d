using System.Globalization;
using System.Text;
using System.Text.Json;
using Registry.Core.Concurrency;
using Registry.Core.Configuration;
using Registry.Core.Http;
using Registry.Core.Names;
using Registry.Core.Storage;

namespace Registry.V1.Mirroring;

/// <summary>
/// <c>GET /v1/repositories/&lt;repo&gt;/json</c> on a mirror (docs/configuration.md, 'V1 mirroring'), as the original's
/// mirror did (it stored the upstream's answer in the repository's <c>json</c>), with the tags' rules: the copy answers
/// within <c>mirroring.tags_cache_ttl</c> of <see cref="StoragePaths.MirrorJson"/>, after it the upstream is asked again,
/// and while the upstream is down the old copy answers. A local repository (tags without the <c>_mirror</c> marker)
/// never asks the upstream: its own <c>json</c>, written by a push of <c>latest</c>, answers.
/// </summary>
public sealed class MirrorRepositoryJsonService(
    IStorageDriver storage, V1Upstream upstream, IKeyedLock locks, RegistrySettings settings, ILogger<MirrorRepositoryJsonService> logger)
{
    /// <summary>
    /// The mirror's answer: the upstream's json (fresh or cached), or a failure when nothing can answer; neither when
    /// the repository is local or the upstream does not have it, and the local json (or the default) answers.
    /// </summary>
    public async Task<(byte[]? Json, UpstreamFailure? Failure)> GetAsync(RepositoryName name, CancellationToken ct)
    {
        if (!upstream.Enabled || await IsLocalAsync(name, ct)) return (null, null);
        var copied = MirrorTagService.CopiedAt(await storage.GetContentAsync(StoragePaths.MirrorJson(name), ct));
        var copy = copied is null ? null : await storage.GetContentAsync(StoragePaths.RepositoryJson(name), ct);
        if (copy is not null && DateTimeOffset.UtcNow - copied < TimeSpan.FromSeconds(settings.MirrorTagsCacheTtlSeconds)) return (copy, null);

        var answer = await upstream.GetDocumentAsync(UpstreamRole.Registry, UpstreamPaths.RepositoryJson(name), name, ct);
        if (answer.NotFound) return (null, null);
        var failure = answer.Value is { } document && !IsObject(document.Body)
            ? upstream.Invalid(UpstreamRole.Registry, $"repository json for {name.FullName}")
            : answer.Failure;
        if (failure is not null)
        {
            if (copy is null) return (null, failure);
            logger.LogWarning("Mirror serves the json of {Repository} copied at {Copied:u}: {Error}", name.FullName, copied, failure.Message);
            return (copy, null);
        }

        var body = answer.Value!.Body;
        await using (await locks.AcquireAsync(name.LockKey, ct))
        {
            // A local push since the check above: its json is the answer, and stays.
            if (await IsLocalAsync(name, ct)) return (null, null);
            // CancellationToken.None: the copy and its time are written together, whoever asked.
            await storage.PutContentAsync(StoragePaths.RepositoryJson(name), body, CancellationToken.None);
            var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
            await storage.PutContentAsync(StoragePaths.MirrorJson(name), Encoding.UTF8.GetBytes(now), CancellationToken.None);
        }
        return (body, null);
    }

    private async Task<bool> IsLocalAsync(RepositoryName name, CancellationToken ct) =>
        !await storage.ExistsAsync(StoragePaths.Mirror(name), ct) && await StorageTree.RepositoryAsync(storage, name, ct) is { Exists: true };

    private static bool IsObject(byte[] body)
    {
        using var doc = JsonBody.TryParse(body);
        return doc is { RootElement.ValueKind: JsonValueKind.Object };
    }
}
