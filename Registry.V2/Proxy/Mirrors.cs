using System.Globalization;
using System.Text;
using System.Text.Json;
using Registry.Core.Configuration;
using Registry.Core.Distribution;
using Registry.Core.Storage;

namespace Registry.V2.Proxy;

/// <summary>A local repository name that is mirrored: the upstream's client and the repository's name there.</summary>
public sealed record MirroredName(string Name, UpstreamClient Client, string UpstreamName)
{
    public ProxyUpstream Upstream => Client.Upstream;
}

/// <summary>
/// How repository names resolve on a mirror (README, 'Mirror (pull-through cache)'), and the small records that
/// tell cached repositories from local ones: a name under a configured prefix is mirrored unless its repository was
/// pushed here (it has manifests and no <see cref="DistributionPaths.ProxyUpstream"/> record); a mirrored repository
/// remembers per tag when the upstream was last asked. One <see cref="UpstreamClient"/> per upstream.
/// </summary>
public sealed class Mirrors : IDisposable
{
    private readonly IStorageDriver _storage;
    private readonly IReadOnlyList<UpstreamClient> _clients;

    public Mirrors(RegistrySettings settings, IStorageDriver storage)
    {
        _storage = storage;
        _clients = [.. settings.Proxy.Upstreams.Select(u => new UpstreamClient(u))];
    }

    public bool Enabled => _clients.Count > 0;

    /// <summary>The upstream <paramref name="name"/> falls under (longest prefix first), or null for a purely local name.</summary>
    public MirroredName? Resolve(string name)
    {
        foreach (var client in _clients)
            if (client.Upstream.UpstreamName(name) is { } remote) return new MirroredName(name, client, remote);
        return null;
    }

    /// <summary>
    /// True when the repository was pushed here: it has manifests and no upstream record. Such a repository is never
    /// filled or refreshed from the upstream.
    /// </summary>
    public async Task<bool> IsLocalAsync(string name, CancellationToken ct) =>
        await _storage.DirectoryExistsAsync(DistributionPaths.ManifestsDir(name), ct)
        && !await _storage.ExistsAsync(DistributionPaths.ProxyUpstream(name), ct);

    /// <summary>True when the repository holds content fetched from the upstream (its upstream record exists).</summary>
    public Task<bool> IsCachedAsync(string name, CancellationToken ct) => _storage.ExistsAsync(DistributionPaths.ProxyUpstream(name), ct);

    /// <summary>Writes the upstream record (before the first cached manifest, so the repository is never mistaken for a local one).</summary>
    public async Task MarkCachedAsync(MirroredName mirror, CancellationToken ct)
    {
        var path = DistributionPaths.ProxyUpstream(mirror.Name);
        if (await _storage.ExistsAsync(path, ct)) return;
        var record = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string>
        {
            ["remoteurl"] = mirror.Upstream.Url,
            ["name"] = mirror.UpstreamName,
        });
        await _storage.PutContentAsync(path, record, ct);
    }

    /// <summary>A push makes a repository local: its upstream record goes, and from then on nothing is fetched for it.</summary>
    public Task MarkLocalAsync(string name, CancellationToken ct) => _storage.DeleteAsync(DistributionPaths.ProxyDir(name), ct);

    /// <summary>When the tag was last compared with the upstream; null when never (or the record is unreadable).</summary>
    public async Task<DateTimeOffset?> TagCheckedAsync(string name, string tag, CancellationToken ct)
    {
        var bytes = await _storage.GetContentAsync(DistributionPaths.ProxyTagChecked(name, tag), ct);
        return bytes is not null && long.TryParse(Encoding.ASCII.GetString(bytes).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds)
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : null;
    }

    public Task RecordTagCheckedAsync(string name, string tag, CancellationToken ct) =>
        _storage.PutContentAsync(DistributionPaths.ProxyTagChecked(name, tag),
            Encoding.ASCII.GetBytes(DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)), ct);

    public void Dispose()
    {
        foreach (var client in _clients) client.Dispose();
    }
}
