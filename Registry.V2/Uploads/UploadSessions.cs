using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Registry.Core.Concurrency;
using Registry.Core.Distribution;
using Registry.Core.IO;
using Registry.Core.Storage;
using Registry.V2.Blobs;

namespace Registry.V2.Uploads;

/// <summary>One received piece of an upload: <see cref="Length"/> bytes at <see cref="Offset"/> in the object at <see cref="Path"/>.</summary>
public sealed record UploadPart(long Offset, long Length, string Path);

/// <summary>
/// An upload session as stored under <c>_uploads/&lt;uuid&gt;/</c> of its repository (Docker Registry HTTP API V2, 'Starting An Upload').
/// <see cref="Algorithm"/> is the digest algorithm hashed while receiving (sha256 unless the POST asked for another).
/// </summary>
public sealed record UploadSession(string Name, string Uuid, string Algorithm, IReadOnlyList<UploadPart> Parts)
{
    /// <summary>Bytes received so far: the parts are contiguous from offset 0.</summary>
    public long Size => Parts.Count == 0 ? 0 : Parts[^1].Offset + Parts[^1].Length;
}

/// <summary>The client's <c>Content-Range</c> of a chunk: inclusive byte offsets, bare form <c>start-end</c>.</summary>
public sealed record ChunkRange(long Start, long End)
{
    public long Length => End - Start + 1;
}

public enum AppendOutcome { Appended, RangeInvalid, SizeInvalid }

public enum CommitOutcome { Committed, DigestMismatch }

/// <summary>
/// Blob upload sessions kept on storage, so they survive restarts and work on every driver (Docker Registry HTTP API V2, 'Pushing An Image').
/// The storage has no append, so each received chunk is its own object, published atomically: the first at
/// <c>_uploads/&lt;uuid&gt;/data</c> (distribution's name), later ones at <c>parts/&lt;offset&gt;</c>. A chunk cut
/// short publishes nothing, so the session size stays what it was. The digest of <c>data</c> is recorded as it
/// is written, so the common one-chunk upload is never read twice. Commit verifies the digest before any blob
/// data is published, then hands over to <see cref="BlobStore.CommitAsync"/>.
/// Callers hold <see cref="LockAsync"/> around every read-modify-write of a session.
/// </summary>
public sealed partial class UploadSessions(IStorageDriver storage, BlobStore blobs, IKeyedLock locks)
{
    /// <summary>Sessions older than this are unknown (and left to purging, docs/garbage-collection.md, 'Upload purging').</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromHours(168);

    private const string DataName = "data";
    private const string PartsDir = "parts";
    private const string DigestsDir = "datadigests";
    private const string AlgorithmName = "algorithm";
    private const string CommitName = "commit";

    /// <summary>The upload id grammar of OCI distribution-spec v1.1, 'Endpoints', minus the names no storage key may have.</summary>
    public static bool IsValidUuid(string? uuid) =>
        uuid is { Length: > 0 and <= 128 } && UuidPattern().IsMatch(uuid) && uuid.Trim('.').Length > 0;

    /// <summary>Serializes the writers of one session within this process.</summary>
    public Task<IAsyncDisposable> LockAsync(string uuid, CancellationToken ct) => locks.AcquireAsync("v2-upload:" + uuid, ct);

    /// <summary>Creates an empty session hashing with <paramref name="algorithm"/> (a supported digest algorithm).</summary>
    public async Task<UploadSession> StartAsync(string name, string algorithm, CancellationToken ct)
    {
        var uuid = Guid.NewGuid().ToString();
        if (algorithm != "sha256")
            await storage.PutContentAsync(SessionFile(name, uuid, AlgorithmName), Encoding.ASCII.GetBytes(algorithm), ct);
        var startedAt = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        // startedat last: it is what makes the session exist.
        await storage.PutContentAsync(DistributionPaths.UploadStartedAt(name, uuid), Encoding.ASCII.GetBytes(startedAt), ct);
        return new UploadSession(name, uuid, algorithm, []);
    }

    /// <summary>
    /// The session <paramref name="uuid"/> of repository <paramref name="name"/>, or null when it does not exist
    /// there (another repository's id, cancelled, committed, expired) or the id is not a valid upload id.
    /// </summary>
    public async Task<UploadSession?> FindAsync(string name, string uuid, CancellationToken ct)
    {
        if (!IsValidUuid(uuid)) return null;
        var startedAt = await storage.GetContentAsync(DistributionPaths.UploadStartedAt(name, uuid), ct);
        if (startedAt is null) return null;
        if (DateTimeOffset.TryParse(Encoding.ASCII.GetString(startedAt).Trim(), CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal, out var started) && DateTimeOffset.UtcNow - started > MaxAge)
            return null;

        var algorithmBytes = await storage.GetContentAsync(SessionFile(name, uuid, AlgorithmName), ct);
        var algorithm = algorithmBytes is null ? "sha256" : Encoding.ASCII.GetString(algorithmBytes).Trim();
        if (!Digest.IsSupportedAlgorithm(algorithm)) algorithm = "sha256";
        return new UploadSession(name, uuid, algorithm, await ReadPartsAsync(name, uuid, ct));
    }

    /// <summary>
    /// Appends a chunk at the end of the session. With <paramref name="range"/> the chunk must start at the current
    /// size (else <see cref="AppendOutcome.RangeInvalid"/>, nothing read); with <paramref name="range"/> or
    /// <paramref name="contentLength"/>, a body of another length is <see cref="AppendOutcome.SizeInvalid"/> and kept
    /// out of the session. A body that fails midway (client gone) throws and leaves the session as it was.
    /// </summary>
    public async Task<(AppendOutcome Outcome, UploadSession Session)> AppendAsync(
        UploadSession session, Stream body, ChunkRange? range, long? contentLength, CancellationToken ct)
    {
        var offset = session.Size;
        if (range is not null && (range.Start != offset || range.End < range.Start)) return (AppendOutcome.RangeInvalid, session);
        if (range is not null && contentLength is { } declared && declared != range.Length) return (AppendOutcome.SizeInvalid, session);

        var declaredLength = range?.Length ?? contentLength;
        // A declared length lets the driver write the body as it arrives, without buffering it first.
        Task<long> Write(string path, Stream source) => declaredLength is { } length
            ? storage.WriteStreamAsync(path, source, length, ct)
            : storage.WriteStreamAsync(path, source, ct);

        var (name, uuid) = (session.Name, session.Uuid);
        var path = offset == 0 ? SessionFile(name, uuid, DataName) : SessionFile(name, uuid, $"{PartsDir}/{offset.ToString(CultureInfo.InvariantCulture)}");
        long written;
        if (offset == 0)
        {
            // A digest recorded for an earlier (empty) data object must never describe the new one.
            await storage.DeleteAsync(SessionFile(name, uuid, DigestsDir), ct);
            string[] algorithms = session.Algorithm == "sha256" ? ["sha256"] : ["sha256", session.Algorithm];
            var hashes = algorithms.Select(Digest.CreateHash).ToArray();
            try
            {
                written = await Write(path, new HashingReadStream(body, hashes));
                if (written == (declaredLength ?? written))
                    for (var i = 0; i < algorithms.Length; i++)
                    {
                        var digest = Digest.FromHash(algorithms[i], hashes[i].GetHashAndReset());
                        await storage.PutContentAsync(SessionFile(name, uuid, $"{DigestsDir}/{algorithms[i]}"), Encoding.ASCII.GetBytes(digest.ToString()), ct);
                    }
            }
            finally
            {
                foreach (var hash in hashes) hash.Dispose();
            }
        }
        else
        {
            written = await Write(path, body);
        }

        if (written != (declaredLength ?? written))
        {
            await storage.DeleteAsync(path, ct);
            if (offset == 0) await storage.DeleteAsync(SessionFile(name, uuid, DigestsDir), ct);
            return (AppendOutcome.SizeInvalid, session);
        }
        // An empty part would share its offset with the next one; an empty data object is just size 0.
        if (written == 0 && offset > 0)
        {
            await storage.DeleteAsync(path, ct);
            return (AppendOutcome.Appended, session);
        }
        return (AppendOutcome.Appended, session with { Parts = [.. session.Parts.Where(p => p.Offset != offset), new UploadPart(offset, written, path)] });
    }

    /// <summary>
    /// Closes the session (Docker Registry HTTP API V2, 'Completed Upload'): hashes every received byte with <paramref name="digest"/>'s algorithm
    /// and, when it matches, commits the blob into the session's repository; the session is deleted either way.
    /// Blob data whose digest was not verified is never published.
    /// </summary>
    public async Task<CommitOutcome> CommitAsync(UploadSession session, Digest digest, CancellationToken ct)
    {
        var parts = session.Parts;
        Digest actual;
        string? verified;
        if (parts.Count == 0)
        {
            actual = Digest.Compute(digest.Algorithm, []);
            verified = null;
        }
        else if (parts.Count == 1)
        {
            verified = parts[0].Path;
            actual = await RecordedDigestAsync(session, digest.Algorithm, ct) ?? await HashAsync(parts, digest.Algorithm, ct);
        }
        else
        {
            // Several parts: concatenate them into one object while hashing, so the move below stays atomic.
            verified = SessionFile(session.Name, session.Uuid, CommitName);
            using var hash = digest.CreateHash();
            await using (var concatenated = new ConcatenatedReadStream(storage, [.. parts.Select(p => p.Path)]))
                await storage.WriteStreamAsync(verified, new HashingReadStream(concatenated, hash), ct);
            actual = Digest.FromHash(digest.Algorithm, hash.GetHashAndReset());
        }

        if (actual != digest)
        {
            await DeleteAsync(session, ct);
            return CommitOutcome.DigestMismatch;
        }
        await blobs.CommitAsync(session.Name, digest, verified, ct);
        await DeleteAsync(session, ct);
        return CommitOutcome.Committed;
    }

    /// <summary>Removes the session directory (cancel, commit, failed monolithic upload).</summary>
    public Task DeleteAsync(UploadSession session, CancellationToken ct) =>
        storage.DeleteAsync(DistributionPaths.UploadDir(session.Name, session.Uuid), ct);

    private async Task<IReadOnlyList<UploadPart>> ReadPartsAsync(string name, string uuid, CancellationToken ct)
    {
        var dataPath = DistributionPaths.UploadData(name, uuid);
        var dataSize = await storage.SizeAsync(dataPath, ct);
        if (dataSize is null) return [];
        var parts = new List<UploadPart> { new(0, dataSize.Value, dataPath) };
        var offsets = new List<(long Offset, string Path)>();
        foreach (var path in await storage.ListAsync(SessionFile(name, uuid, PartsDir), ct))
            if (long.TryParse(DistributionPaths.FileName(path), NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
                offsets.Add((offset, path));
        foreach (var (offset, path) in offsets.OrderBy(o => o.Offset))
        {
            // Parts are written at the session's end under its lock, so they are contiguous; stop at anything else.
            if (offset != parts[^1].Offset + parts[^1].Length) break;
            var size = await storage.SizeAsync(path, ct);
            if (size is null) break;
            parts.Add(new UploadPart(offset, size.Value, path));
        }
        return parts;
    }

    private async Task<Digest?> RecordedDigestAsync(UploadSession session, string algorithm, CancellationToken ct)
    {
        var bytes = await storage.GetContentAsync(SessionFile(session.Name, session.Uuid, $"{DigestsDir}/{algorithm}"), ct);
        return bytes is null ? null : Digest.ParseOrNull(Encoding.ASCII.GetString(bytes).Trim());
    }

    private async Task<Digest> HashAsync(IReadOnlyList<UploadPart> parts, string algorithm, CancellationToken ct)
    {
        using var hash = Digest.CreateHash(algorithm);
        await using var concatenated = new ConcatenatedReadStream(storage, [.. parts.Select(p => p.Path)]);
        var buffer = ArrayPool<byte>.Shared.Rent(256 * 1024);
        try
        {
            int n;
            while ((n = await concatenated.ReadAsync(buffer, ct)) > 0) hash.AppendData(buffer, 0, n);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        return Digest.FromHash(algorithm, hash.GetHashAndReset());
    }

    private static string SessionFile(string name, string uuid, string file) => $"{DistributionPaths.UploadDir(name, uuid)}/{file}";

    [GeneratedRegex(@"\A[A-Za-z0-9_.=-]+\z", RegexOptions.CultureInvariant)]
    private static partial Regex UuidPattern();
}
