using System.Globalization;
using System.Text;
using System.Text.Json;
using Registry.Core.Concurrency;
using Registry.Core.Configuration;
using Registry.Core.Http;
using Registry.Core.Names;
using Registry.Core.Storage;
using Registry.Index.Search;

namespace Registry.V1.Mirroring;

/// <summary>
/// The tags of a repository the mirror does not have locally (docs/configuration.md, 'V1 mirroring'). The upstream's
/// tag list is copied into the repository's tag files, so every reader (tag routes, search, the collector) sees an
/// ordinary repository, and <see cref="StoragePaths.Mirror"/> records when: within <c>mirroring.tags_cache_ttl</c>
/// the copy answers, after it the upstream is asked again, and while the upstream is down the old copy answers (with a
/// warning in the log). A repository without that marker is local and the upstream is never asked for it, so a local
/// push (whose tag write deletes the marker) always wins.
/// </summary>
public sealed class MirrorTagService(
    IStorageDriver storage, V1Upstream upstream, RepositoryCatalog catalog, IKeyedLock locks, IGcCoordinator gc,
    RegistrySettings settings, ILogger<MirrorTagService> logger)
{
    /// <summary>Brings the copy up to date when it is missing or older than the ttl; a failure only when nothing local can answer.</summary>
    public async Task<UpstreamFailure?> RefreshAsync(RepositoryName name, CancellationToken ct)
    {
        if (!upstream.Enabled) return null;
        var copied = CopiedAt(await storage.GetContentAsync(StoragePaths.Mirror(name), ct));
        if (copied is null && await StorageTree.RepositoryAsync(storage, name, ct) is { Exists: true }) return null;
        if (copied is { } at && DateTimeOffset.UtcNow - at < TimeSpan.FromSeconds(settings.MirrorTagsCacheTtlSeconds)) return null;

        var answer = await upstream.GetDocumentAsync(UpstreamRole.Registry, UpstreamPaths.Tags(name), name, ct);
        var tags = answer.Value is { } document ? ParseTags(document.Body) : null;
        if (tags is null)
        {
            var failure = answer.Value is null ? answer.Failure : upstream.Invalid(UpstreamRole.Registry, $"tag list for {name.FullName}");
            // Nothing copied yet (only the image list): nothing to fall back on.
            if (copied is null || copied == DateTimeOffset.UnixEpoch || failure is null) return failure;
            logger.LogWarning("Mirror serves the tags of {Repository} copied at {Copied:u}: {Error}", name.FullName, copied, failure.Message);
            return null;
        }

        await using (await locks.AcquireAsync(name.LockKey, ct))
        {
            // A local tag written since the check above made the repository local.
            if (!await storage.ExistsAsync(StoragePaths.Mirror(name), ct) && await StorageTree.RepositoryAsync(storage, name, ct) is { Exists: true })
                return null;
            await WriteCopyAsync(name, tags);
        }
        await catalog.SyncAsync(name, CancellationToken.None);
        return null;
    }

    /// <summary>Marks a repository whose image list was copied before its tags: the first tag request asks the upstream.</summary>
    public Task MarkCopiedBeforeTagsAsync(RepositoryName name, CancellationToken ct) =>
        storage.PutContentAsync(StoragePaths.Mirror(name), "0"u8.ToArray(), ct);

    private async Task WriteCopyAsync(RepositoryName name, IReadOnlyDictionary<string, ImageId> tags)
    {
        // CancellationToken.None: a copy is written whole, whoever asked for it.
        var ct = CancellationToken.None;
        await using var gcWrite = await gc.EnterWriteAsync(ct);
        gc.TouchImages(tags.Values.Select(v => v.Value));
        var keep = tags.Keys.Select(t => StoragePaths.Tag(name, t)).ToHashSet(StringComparer.Ordinal);
        if (await StorageTree.RepositoryAsync(storage, name, ct) is { } directory)
            foreach (var file in directory.TagFiles)
                if (!keep.Contains(file) && await StorageTree.ReadTagAsync(storage, file, ct) is not null)
                    await storage.DeleteAsync(file, ct);
        foreach (var (tag, id) in tags)
            await storage.PutContentAsync(StoragePaths.Tag(name, tag), Encoding.UTF8.GetBytes(id.Value), ct);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        await storage.PutContentAsync(StoragePaths.Mirror(name), Encoding.UTF8.GetBytes(now), ct);
    }

    /// <summary>The time in a copy marker; the epoch for a marker without one (copied before the tags), null without a marker.</summary>
    internal static DateTimeOffset? CopiedAt(byte[]? marker) =>
        marker is not null && long.TryParse(Encoding.UTF8.GetString(marker).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : marker is null ? null : DateTimeOffset.UnixEpoch;

    /// <summary><c>{"tag": "image id", …}</c>; null when the body is not that. Entries this registry could not store are left out.</summary>
    private static Dictionary<string, ImageId>? ParseTags(byte[] body)
    {
        using var doc = JsonBody.TryParse(body);
        if (doc is not { RootElement.ValueKind: JsonValueKind.Object }) return null;
        var tags = new Dictionary<string, ImageId>(StringComparer.Ordinal);
        foreach (var property in doc.RootElement.EnumerateObject())
            if (TagName.IsValid(property.Name) && property.Value.ValueKind == JsonValueKind.String && ImageId.TryParse(property.Value.GetString(), out var id))
                tags[property.Name] = id;
        return tags;
    }
}
