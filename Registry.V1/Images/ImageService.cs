using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Registry.Core.Concurrency;
using Registry.Core.IO;
using Registry.Core.Names;
using Registry.Core.Storage;

namespace Registry.V1.Images;

/// <summary>
/// Image json, layer, checksum and ancestry (Docker Registry HTTP API V1, 'Images', docs/storage-layout.md, 'Image state machine'). The files of one image are written in an
/// order that leaves a crashed upload in the "uploading" state: <c>_inprogress</c> first on PUT json,
/// deleted last on PUT checksum. Each check-then-write runs under the garbage collector's shared side
/// (<see cref="GcCoordinator"/>) and touches the images it relies on, so an online collection never deletes an
/// image between the check and the write; the shared side is taken after the image lock and never over the layer stream.
/// </summary>
public sealed class ImageService(IStorageDriver storage, IKeyedLock locks, IGcCoordinator gc, LookupKeepAlive keepAlive)
{
    private static readonly byte[] TrueContent = "true"u8.ToArray();

    public Task<bool> IsInProgressAsync(ImageId id, CancellationToken ct) =>
        storage.ExistsAsync(StoragePaths.ImageInProgress(id), ct);

    public async Task<ImageJson?> GetJsonAsync(ImageId id, CancellationToken ct)
    {
        // docker asks this before deciding not to push an image; a running collection keeps what it was told exists.
        gc.TouchImage(id.Value);
        var json = await storage.GetContentAsync(StoragePaths.ImageJson(id), ct);
        if (json is null || !await KeepLookedUpAsync(id, ct)) return null;
        // A mirror's image whose layer is not fetched yet still reports the upstream's size, as the upstream does.
        var size = await storage.SizeAsync(StoragePaths.ImageLayer(id), ct) ?? MirrorSize(await storage.GetContentAsync(StoragePaths.ImageMirrorSize(id), ct));
        var checksums = ChecksumFile.Parse(await storage.GetContentAsync(StoragePaths.ImageChecksum(id), ct));
        return new ImageJson(json, size, checksums);
    }

    /// <summary>
    /// The image's json is made young again when it is old (docs/garbage-collection.md, 'Guarantees' G8;
    /// <see cref="LookupKeepAlive"/>): rewritten with the bytes it holds, under the image's lock and the collector's shared
    /// side, so a collection starting before the tag that names the image arrives keeps it. False when the json is gone by now.
    /// </summary>
    private Task<bool> KeepLookedUpAsync(ImageId id, CancellationToken ct) =>
        keepAlive.KeepAsync(StoragePaths.ImageJson(id), async c =>
        {
            await using var held = await locks.AcquireAsync(id.Value, c);
            await using var gcWrite = await gc.EnterWriteAsync(c);
            gc.TouchImage(id.Value);
            if (await storage.GetContentAsync(StoragePaths.ImageJson(id), c) is not { } json) return false;
            await storage.PutContentAsync(StoragePaths.ImageJson(id), json, CancellationToken.None);
            return true;
        }, ct);

    private static long? MirrorSize(byte[]? content) =>
        content is not null && long.TryParse(Encoding.ASCII.GetString(content), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var size)
            ? size
            : null;

    public Task<byte[]?> GetAncestryAsync(ImageId id, CancellationToken ct) =>
        storage.GetContentAsync(StoragePaths.ImageAncestry(id), ct);

    public async Task<PutJsonResult> PutJsonAsync(ImageId id, byte[] body, CancellationToken ct)
    {
        string? parentValue;
        using (var doc = Core.Http.JsonBody.TryParse(body))
        {
            if (doc is null || doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.EnumerateObject().Any())
                return PutJsonResult.InvalidJson;
            var root = doc.RootElement;
            if (!root.TryGetProperty("id", out var idElement)) return PutJsonResult.MissingId;
            if (idElement.ValueKind != JsonValueKind.String || idElement.GetString() != id.Value) return PutJsonResult.IdMismatch;
            parentValue = AncestryReader.ParentOf(root);
        }

        ImageId parent = default;
        if (parentValue is not null && !ImageId.TryParse(parentValue, out parent)) return PutJsonResult.ParentMissing;

        await using var held = await locks.AcquireAsync(id.Value, ct);
        // The parent check and the writes that reference it happen under the collector's shared side.
        await using var gcWrite = await gc.EnterWriteAsync(ct);
        if (parentValue is not null && !await storage.ExistsAsync(StoragePaths.ImageJson(parent), ct))
            return PutJsonResult.ParentMissing;
        if (await storage.ExistsAsync(StoragePaths.ImageJson(id), ct) && !await IsInProgressAsync(id, ct))
            return PutJsonResult.AlreadyExists;

        var ancestry = new JsonArray(id.Value);
        if (parentValue is not null)
            foreach (var ancestor in await AncestryReader.ReadAsync(storage, parent, ct))
                ancestry.Add(ancestor);
        gc.TouchImages(ancestry.Select(a => (string)a!));

        // CancellationToken.None from here: a half-restarted image must not be left by a client that goes away.
        await storage.PutContentAsync(StoragePaths.ImageInProgress(id), TrueContent, CancellationToken.None);
        await storage.DeleteAsync(StoragePaths.ImageChecksum(id), CancellationToken.None);
        await storage.PutContentAsync(StoragePaths.ImageJson(id), body, CancellationToken.None);
        await storage.PutContentAsync(StoragePaths.ImageAncestry(id), Encoding.UTF8.GetBytes(Core.Http.PyJson.Serialize(ancestry)), CancellationToken.None);
        return PutJsonResult.Ok;
    }

    /// <summary>
    /// Streams the layer to storage while hashing <c>json ‖ "\n" ‖ layer</c>, then records the checksum.
    /// The layer becomes visible only once complete; a broken body publishes nothing.
    /// </summary>
    public async Task<PutLayerResult> PutLayerAsync(ImageId id, Stream body, CancellationToken ct)
    {
        await using var held = await locks.AcquireAsync(id.Value, ct);
        byte[]? json;
        // Touched under the shared side before the check: a running collection keeps the image during the stream.
        await using (await gc.EnterWriteAsync(ct))
        {
            gc.TouchImage(id.Value);
            json = await storage.GetContentAsync(StoragePaths.ImageJson(id), ct);
        }
        if (json is null) return PutLayerResult.ImageNotFound;
        if (await storage.ExistsAsync(StoragePaths.ImageLayer(id), ct) && !await IsInProgressAsync(id, ct))
            return PutLayerResult.AlreadyExists;

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(json);
        hash.AppendData("\n"u8);
        await using (var hashing = new HashingReadStream(body, hash))
            await storage.WriteStreamAsync(StoragePaths.ImageLayer(id), hashing, ct);

        var checksum = "sha256:" + Convert.ToHexStringLower(hash.GetHashAndReset());
        await storage.PutContentAsync(StoragePaths.ImageChecksum(id), ChecksumFile.Write(checksum), CancellationToken.None);
        return PutLayerResult.Ok;
    }

    public async Task<PutChecksumResult> PutChecksumAsync(ImageId id, string checksum, CancellationToken ct)
    {
        await using var held = await locks.AcquireAsync(id.Value, ct);
        await using var gcWrite = await gc.EnterWriteAsync(ct);
        gc.TouchImage(id.Value);
        if (!await storage.ExistsAsync(StoragePaths.ImageJson(id), ct)) return PutChecksumResult.ImageNotFound;
        if (!await IsInProgressAsync(id, ct)) return PutChecksumResult.CannotSet;
        var stored = ChecksumFile.Parse(await storage.GetContentAsync(StoragePaths.ImageChecksum(id), ct));
        if (!stored.Contains(checksum, StringComparer.Ordinal)) return PutChecksumResult.Mismatch;
        await storage.DeleteAsync(StoragePaths.ImageInProgress(id), CancellationToken.None);
        return PutChecksumResult.Ok;
    }

    public async Task<LayerInfo?> GetLayerInfoAsync(ImageId id, CancellationToken ct)
    {
        var path = StoragePaths.ImageLayer(id);
        var size = await storage.SizeAsync(path, ct);
        if (size is null) return null;
        return new LayerInfo(size.Value, storage.Find<FileSystemStorageDriver>()?.GetPhysicalPath(path));
    }

    public Task<Stream?> OpenLayerAsync(ImageId id, long offset, CancellationToken ct) =>
        storage.OpenReadAsync(StoragePaths.ImageLayer(id), offset, ct);
}
