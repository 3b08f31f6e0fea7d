using System.Collections.Concurrent;
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
/// remembers per tag when the upstream was last asked, and when it was last pulled (for the retention).
/// One <see cref="UpstreamClient"/> per upstream.
/// </summary>
public sealed class Mirrors : IDisposable
{
    /// <summary>The last-pull record is rewritten at most this often per repository (or a quarter of a shorter retention).</summary>
    public static readonly TimeSpan LastPullInterval = TimeSpan.FromHours(1);

    private readonly IStorageDriver _storage;
    private readonly TimeProvider _time;
    private readonly IReadOnlyList<UpstreamClient> _clients;

    // When this process last wrote (or decided not to write) each repository's last-pull record: pulls in between
    // cost a dictionary lookup, not a storage write.
    private readonly ConcurrentDictionary<string, DateTimeOffset> _pullsNoted = new(StringComparer.Ordinal);

    public Mirrors(RegistrySettings settings, IStorageDriver storage, TimeProvider? time = null)
    {
        _storage = storage;
        _time = time ?? TimeProvider.System;
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

    /// <summary>
    /// Writes the upstream record (before the first cached manifest, so the repository is never mistaken for a local
    /// one), and with a retention the first last-pull record.
    /// </summary>
    public async Task MarkCachedAsync(MirroredName mirror, CancellationToken ct)
    {
        var path = DistributionPaths.ProxyUpstream(mirror.Name);
        if (await _storage.ExistsAsync(path, ct)) return;
        var record = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string>
        {
            ["remoteurl"] = mirror.Upstream.Url,
            ["name"] = mirror.UpstreamName,
        });
        if (mirror.Upstream.Retention is not null) await WriteLastPullAsync(mirror.Name, _time.GetUtcNow(), ct);
        await _storage.PutContentAsync(path, record, ct);
    }

    /// <summary>
    /// Notes a pull (a manifest or blob GET) of a cached repository for the retention (docs/garbage-collection.md,
    /// 'Mirror retention'): the last-pull record is rewritten only when this process has not done so for
    /// <see cref="LastPullInterval"/>, so a busy repository costs one small write an hour. Nothing without a retention
    /// or for a local repository.
    /// </summary>
    public async Task NotePullAsync(MirroredName mirror, CancellationToken ct)
    {
        if (mirror.Upstream.Retention is not { } retention) return;
        var now = _time.GetUtcNow();
        var interval = retention / 4 < LastPullInterval ? retention / 4 : LastPullInterval;
        if (_pullsNoted.TryGetValue(mirror.Name, out var noted) && now - noted < interval) return;
        _pullsNoted[mirror.Name] = now;
        if (await IsCachedAsync(mirror.Name, ct)) await WriteLastPullAsync(mirror.Name, now, ct);
    }

    /// <summary>
    /// When a cached repository was last pulled: its last-pull record, or for one cached before records were kept (or
    /// whose record is unreadable) the time its upstream record was written. Null when it is not cached.
    /// </summary>
    public static async Task<DateTimeOffset?> LastPullAsync(IStorageDriver storage, string name, CancellationToken ct)
    {
        var bytes = await storage.GetContentAsync(DistributionPaths.ProxyLastPull(name), ct);
        if (bytes is not null && long.TryParse(Encoding.ASCII.GetString(bytes).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds))
            return DateTimeOffset.FromUnixTimeSeconds(seconds);
        return await storage.LastModifiedAsync(DistributionPaths.ProxyUpstream(name), ct);
    }

    private Task WriteLastPullAsync(string name, DateTimeOffset at, CancellationToken ct)
    {
        _pullsNoted[name] = at;
        return _storage.PutContentAsync(DistributionPaths.ProxyLastPull(name),
            Encoding.ASCII.GetBytes(at.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)), ct);
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
