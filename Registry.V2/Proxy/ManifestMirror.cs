using System.Net;
using Microsoft.Extensions.Logging;
using Registry.Core.Distribution;
using Registry.Core.Http;
using Registry.Core.IO;
using Registry.V2.Http;
using Registry.V2.Manifests;

namespace Registry.V2.Proxy;

/// <summary>A manifest lookup on a mirrored name: the manifest, nothing (404), or why the upstream could not be used.</summary>
public sealed record MirroredManifest(StoredManifest? Manifest, UpstreamFailure? Failure = null);

/// <summary>
/// Manifests of mirrored repositories (docs/configuration.md, 'Mirror'). By digest: served from storage when cached,
/// otherwise fetched, verified against the digest and stored for good. By tag: served from storage while the tag was
/// compared with the upstream less than the ttl ago; then a HEAD upstream says whether the tag moved (a new digest is
/// fetched and the tag re-pointed); an upstream that is down or refuses keeps the cached manifest served, with a
/// warning. Everything fetched is stored through <see cref="ManifestStore"/>, like a push (catalog, tags, search).
/// Concurrent requests for the same fetch share one upstream GET. A repository pushed here is local: it is answered
/// from storage only.
/// </summary>
public sealed class ManifestMirror(Mirrors mirrors, ManifestStore store, ILogger<ManifestMirror> logger)
{
    // Fetches under way, by upstream, repository, reference, tag and Accept: a burst of pulls of a new tag (a CI fleet
    // starting) costs the upstream one GET and its rate limit one pull.
    private readonly Dictionary<string, Task<MirroredManifest>> _fetches = new(StringComparer.Ordinal);

    /// <summary>What the upstream is asked for when the client sends no <c>Accept</c> (curl): every type this server stores.</summary>
    private static readonly string[] DefaultAccept =
        [ManifestDocument.OciIndex, ManifestDocument.OciManifest, ManifestDocument.DockerList, ManifestDocument.DockerV2];

    /// <summary>GET or HEAD of <paramref name="reference"/> (a tag, or <paramref name="digest"/> when by digest) in a mirrored repository.</summary>
    public async Task<MirroredManifest> GetAsync(MirroredName mirror, string reference, Digest? digest, IReadOnlyList<string> accept, CancellationToken ct)
    {
        if (accept.Count == 0) accept = DefaultAccept;
        var name = mirror.Name;
        if (digest is not null)
        {
            if (await store.GetByDigestAsync(name, digest, ct) is { } cached) return new MirroredManifest(cached);
            if (await mirrors.IsLocalAsync(name, ct)) return new MirroredManifest(null);
            return await FetchOnceAsync(mirror, digest.ToString(), digest, tag: null, accept, miss: true, ct);
        }

        var local = await store.GetByTagAsync(name, reference, ct);
        if (await mirrors.IsLocalAsync(name, ct)) return new MirroredManifest(local);
        if (local is null) return await FetchOnceAsync(mirror, reference, null, reference, accept, miss: true, ct);

        var checkedAt = await mirrors.TagCheckedAsync(name, reference, ct);
        if (checkedAt is { } at && DateTimeOffset.UtcNow - at < mirror.Upstream.Ttl) return new MirroredManifest(local);

        Digest? current;
        try
        {
            using var head = await mirror.Client.SendAsync(HttpMethod.Head, mirror.UpstreamName, $"manifests/{reference}", accept, ct);
            if (!head.IsSuccessStatusCode)
            {
                var problem = head.StatusCode == HttpStatusCode.NotFound ? $"upstream registry {mirror.Upstream.Url} answered 404" : mirror.Client.StatusFailure(head).Message;
                logger.LogWarning("Serving the cached {Name}:{Tag} ({Digest}): {Problem}", name, reference, local.Digest, problem);
                return new MirroredManifest(local);
            }
            current = Digest.ParseOrNull(HeaderValue(head, V2Results.ContentDigestHeader));
        }
        catch (UpstreamUnavailableException e)
        {
            logger.LogWarning("Serving the cached {Name}:{Tag} ({Digest}): {Problem}", name, reference, local.Digest, e.Message);
            return new MirroredManifest(local);
        }

        if (current == local.Digest)
        {
            await mirrors.RecordTagCheckedAsync(name, reference, ct);
            return new MirroredManifest(local);
        }
        // Moved (or the HEAD named no digest): fetch what the tag names now.
        var fetched = await FetchOnceAsync(mirror, current?.ToString() ?? reference, current, reference, accept, miss: false, ct);
        if (fetched.Failure is null && fetched.Manifest is not null) return fetched;
        logger.LogWarning("Serving the cached {Name}:{Tag} ({Digest}): {Problem}", name, reference, local.Digest,
            fetched.Failure?.Message ?? $"upstream registry {mirror.Upstream.Url} no longer has {current}");
        return new MirroredManifest(local);
    }

    /// <summary>
    /// <see cref="FetchAsync"/>, joined when the same fetch is under way. The shared fetch is not tied to any one request
    /// (the upstream client's timeouts bound it); a request that goes away stops waiting. On a <paramref name="miss"/>,
    /// a fetch that starts just after another stored the manifest serves the stored one instead of asking again.
    /// </summary>
    private Task<MirroredManifest> FetchOnceAsync(
        MirroredName mirror, string upstreamReference, Digest? expected, string? tag, IReadOnlyList<string> accept, bool miss, CancellationToken ct)
    {
        var key = string.Join('\n', mirror.Upstream.Url, mirror.UpstreamName, mirror.Name, upstreamReference, tag ?? "",
            string.Join(',', accept.Order(StringComparer.OrdinalIgnoreCase)));
        Task<MirroredManifest> fetch;
        lock (_fetches)
        {
            if (!_fetches.TryGetValue(key, out fetch!))
            {
                // Task.Run: its removal below waits for this lock, so it cannot run before the entry is added.
                fetch = Task.Run(async () =>
                {
                    try
                    {
                        var stored = !miss ? null
                            : expected is not null ? await store.GetByDigestAsync(mirror.Name, expected, CancellationToken.None)
                            : await store.GetByTagAsync(mirror.Name, tag!, CancellationToken.None);
                        return stored is not null
                            ? new MirroredManifest(stored)
                            : await FetchAsync(mirror, upstreamReference, expected, tag, accept, CancellationToken.None);
                    }
                    finally
                    {
                        lock (_fetches) _fetches.Remove(key);
                    }
                }, CancellationToken.None);
                _fetches[key] = fetch;
            }
        }
        return fetch.WaitAsync(ct);
    }

    /// <summary>GETs a manifest upstream, verifies its digest, stores it (re-pointing <paramref name="tag"/>) and returns it.</summary>
    private async Task<MirroredManifest> FetchAsync(
        MirroredName mirror, string upstreamReference, Digest? expected, string? tag, IReadOnlyList<string> accept, CancellationToken ct)
    {
        byte[] body;
        string? contentType;
        Digest? announced;
        try
        {
            using var response = await mirror.Client.SendAsync(HttpMethod.Get, mirror.UpstreamName, $"manifests/{upstreamReference}", accept, ct);
            if (response.StatusCode == HttpStatusCode.NotFound) return new MirroredManifest(null);
            if (!response.IsSuccessStatusCode) return new MirroredManifest(null, mirror.Client.StatusFailure(response));
            contentType = response.Content.Headers.ContentType?.MediaType;
            announced = Digest.ParseOrNull(HeaderValue(response, V2Results.ContentDigestHeader));
            var read = await ReadCappedAsync(response, ct);
            if (read is null)
                return Failed(mirror, $"sent a manifest larger than {ManifestStore.MaxManifestBytes} bytes");
            body = read;
        }
        catch (UpstreamUnavailableException e)
        {
            return new MirroredManifest(null, e.Failure);
        }
        catch (Exception e) when (e is IOException or HttpRequestException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            return new MirroredManifest(null, new UpstreamFailure($"upstream registry {mirror.Upstream.Url} broke off a manifest: {e.Message}", true));
        }

        var digest = Digest.Compute(expected?.Algorithm ?? "sha256", body);
        if (expected is not null && digest != expected)
            return Failed(mirror, $"sent a manifest whose digest {digest} is not the requested {expected}");
        if (announced is not null && Digest.Compute(announced.Algorithm, body) != announced)
            return Failed(mirror, $"sent a manifest whose bytes do not match its Docker-Content-Digest {announced}");

        await mirrors.MarkCachedAsync(mirror, ct);
        var stored = await store.StoreFetchedAsync(mirror.Name, digest, tag, contentType, body, ct);
        if (!stored.Succeeded)
            return Failed(mirror, $"sent a manifest this registry cannot store: {stored.Problems[0].Detail}");
        if (tag is not null) await mirrors.RecordTagCheckedAsync(mirror.Name, tag, ct);
        logger.LogInformation("Cached {Name}:{Reference} ({Digest}) from {Upstream}", mirror.Name, tag ?? upstreamReference, digest, mirror.Upstream.Url);
        return new MirroredManifest(await store.GetByDigestAsync(mirror.Name, digest, ct)
                                    ?? new StoredManifest(digest, ManifestDocument.TryParse(body)!.MediaType, body));
    }

    private static MirroredManifest Failed(MirroredName mirror, string problem) =>
        new(null, new UpstreamFailure($"upstream registry {mirror.Upstream.Url} {problem}", false));

    private static string? HeaderValue(HttpResponseMessage response, string header) =>
        response.Headers.TryGetValues(header, out var values) ? values.FirstOrDefault()?.Trim() : null;

    private static async Task<byte[]?> ReadCappedAsync(HttpResponseMessage response, CancellationToken ct)
    {
        if (response.Content.Headers.ContentLength > ManifestStore.MaxManifestBytes) return null;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(UpstreamClient.HeadersTimeout);
        await using var stream = await response.Content.ReadAsStreamAsync(cts.Token);
        return await CappedRead.ReadAsync(stream, ManifestStore.MaxManifestBytes, cts.Token);
    }
}
