using System.Text.RegularExpressions;
using Carter;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;
using Registry.Core.Configuration;
using Registry.Core.Http;
using Registry.Core.Names;
using Registry.Core.Storage;
using Registry.V1.Images;
using Registry.V1.Mirroring;
using Registry.V1.Notifications;

namespace Registry.V1.Modules;

/// <summary><c>/v1/images/{id}/…</c> (Docker Registry HTTP API V1, 'Images'), with the per-route check order of docs/storage-layout.md, 'Image state machine'.</summary>
public sealed partial class ImagesModule : ICarterModule
{
    private const string InProgress = "Image is being uploaded, retry later";
    private const string InvalidId = "Invalid image ID";
    private const string NotFound = "Image not found";

    public void AddRoutes(IEndpointRouteBuilder app)
    {
        // An index-only instance (role: index) stores no images: these routes answer the host's JSON 404.
        if (!app.ServiceProvider.GetRequiredService<RegistrySettings>().Roles.ServesRegistry) return;
        var images = app.MapGroup("/v1/images/{imageId}").AddEndpointFilter<AccessGate>();
        string[] read = ["GET", "HEAD"];

        images.MapMethods("/layer", read, GetLayerAsync);
        images.MapPut("/layer", PutLayerAsync);
        images.MapPut("/checksum", PutChecksumAsync);
        images.MapMethods("/json", read, GetJsonAsync);
        images.MapPut("/json", PutJsonAsync);
        images.MapMethods("/ancestry", read, GetAncestryAsync);
        images.MapMethods("/files", read, GetFilesAsync);
    }

    /// <summary>How long a <c>storage_redirect</c> URL stays valid (the original's S3 driver used 20 minutes).</summary>
    public static readonly TimeSpan LayerRedirectTtl = TimeSpan.FromMinutes(20);

    private static async Task<IResult> GetLayerAsync(
        string imageId, HttpContext http, ImageService svc, RegistrySettings settings, IStorageDriver storage, MirrorLayerService mirror, CancellationToken ct)
    {
        // Layer GET checks "in progress" before the id (Docker Registry HTTP API V1, 'Images').
        if (ImageId.TryParse(imageId, out var id) && await svc.IsInProgressAsync(id, ct))
            return V1Results.Error(400, InProgress);
        if (!ImageId.TryParse(imageId, out id)) return V1Results.Error(404, InvalidId);
        if (http.Request.Headers.ContainsKey(HeaderNames.IfModifiedSince)) return V1Results.Empty(304, immutable: true);

        var layer = await svc.GetLayerInfoAsync(id, ct);
        if (layer is null) return await MirrorLayerAsync(id, mirror, ct);
        if (!string.IsNullOrEmpty(settings.NginxXAccelRedirect) && layer.PhysicalPath is not null)
            return new LayerResult(svc, id, layer, $"{settings.NginxXAccelRedirect.TrimEnd('/')}/images/{id}/layer");
        if (settings.StorageRedirect && storage.Find<IPresignedUrlProvider>() is { } presigner
            && await presigner.GetDownloadUrlAsync(StoragePaths.ImageLayer(id), LayerRedirectTtl, ct) is { } url)
            return Results.Redirect(url.AbsoluteUri);
        return new LayerResult(svc, id, layer, null);
    }

    /// <summary>A layer missing here: streamed from the mirror's upstream while it is stored, or 404 when not a mirror.</summary>
    private static async Task<IResult> MirrorLayerAsync(ImageId id, MirrorLayerService mirror, CancellationToken ct)
    {
        if (!mirror.Enabled) return V1Results.Error(404, NotFound);
        var (start, fetch) = await mirror.OpenAsync(id, ct);
        return start.Outcome switch
        {
            LayerStartOutcome.Streaming => new MirrorLayerResult(fetch!, start.Length),
            LayerStartOutcome.NotFound => V1Results.Error(404, NotFound),
            _ => V1Results.UpstreamError(start.Failure!),
        };
    }

    private static async Task<IResult> PutLayerAsync(string imageId, HttpContext http, ImageService svc, V1Events events, CancellationToken ct)
    {
        if (!ImageId.TryParse(imageId, out var id)) return V1Results.Error(404, InvalidId);
        if (IsDockerOlderThan010(http.Request.Headers.UserAgent.ToString()))
            return V1Results.Error(412, "This endpoint does not support Docker daemons older than 0.10");
        var sizeLimit = http.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (sizeLimit is { IsReadOnly: false }) sizeLimit.MaxRequestBodySize = null;

        switch (await svc.PutLayerAsync(id, http.Request.Body, ct))
        {
            case PutLayerResult.ImageNotFound: return V1Results.Error(404, NotFound);
            case PutLayerResult.AlreadyExists: return V1Results.Error(409, "Image already exists");
        }
        if (events.Enabled && await svc.GetLayerInfoAsync(id, ct) is { } layer) events.ImagePushed(http, id, layer.Size);
        return V1Results.True();
    }

    private static async Task<IResult> PutChecksumAsync(string imageId, HttpRequest request, ImageService svc, CancellationToken ct)
    {
        if (!ImageId.TryParse(imageId, out var id)) return V1Results.Error(404, InvalidId);
        if (!request.Headers.TryGetValue("X-Docker-Checksum-Payload", out var header))
            return V1Results.Error(412, "X-Docker-Checksum-Payload not set.  If you are using the Docker daemon, you should upgrade to version 0.10 or later");
        var checksum = header.ToString();
        if (checksum.Length == 0) return V1Results.Error(400, "Missing Image's checksum");

        return await svc.PutChecksumAsync(id, checksum, ct) switch
        {
            PutChecksumResult.ImageNotFound => V1Results.Error(404, NotFound),
            PutChecksumResult.CannotSet => V1Results.Error(409, "Cannot set this image checksum"),
            PutChecksumResult.Mismatch => V1Results.Error(400, "Checksum mismatch"),
            _ => V1Results.True(),
        };
    }

    private static async Task<IResult> GetJsonAsync(string imageId, HttpRequest request, ImageService svc, MirrorImageService mirror, CancellationToken ct)
    {
        var (early, id) = await CheckReadableAsync(imageId, request, svc, ct);
        if (early is not null) return early;
        var image = await svc.GetJsonAsync(id, ct);
        if (image is null) return await MirrorImageAsync(id, mirror, m => V1Results.Raw(m.Json, immutable: true, m.JsonHeaders()), ct);
        var headers = new List<KeyValuePair<string, string>>();
        if (image.LayerSize is { } size) headers.Add(new("X-Docker-Size", size.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        foreach (var checksum in image.Checksums) headers.Add(new("X-Docker-Checksum-Payload", checksum));
        return V1Results.Raw(image.Json, immutable: true, headers);
    }

    private static async Task<IResult> PutJsonAsync(string imageId, HttpRequest request, ImageService svc, RegistrySettings settings, CancellationToken ct)
    {
        if (!ImageId.TryParse(imageId, out var id)) return V1Results.Error(404, InvalidId);
        var body = await JsonBody.ReadAsync(request, settings.MaxJsonBodyBytes, ct);
        if (body is null) return V1Results.Error(413, "Request body too large");
        return await svc.PutJsonAsync(id, body, ct) switch
        {
            PutJsonResult.InvalidJson => V1Results.Error(400, "Invalid JSON"),
            PutJsonResult.MissingId => V1Results.Error(400, "Missing key `id' in JSON"),
            PutJsonResult.IdMismatch => V1Results.Error(400, "JSON data contains invalid id"),
            PutJsonResult.ParentMissing => V1Results.Error(400, "Image depends on a non existing parent"),
            PutJsonResult.AlreadyExists => V1Results.Error(409, "Image already exists"),
            _ => V1Results.True(),
        };
    }

    private static async Task<IResult> GetAncestryAsync(string imageId, HttpRequest request, ImageService svc, MirrorImageService mirror, CancellationToken ct)
    {
        var (early, id) = await CheckReadableAsync(imageId, request, svc, ct);
        if (early is not null) return early;
        var ancestry = await svc.GetAncestryAsync(id, ct);
        return ancestry is null
            ? await MirrorImageAsync(id, mirror, m => V1Results.Raw(m.Ancestry, immutable: true), ct)
            : V1Results.Raw(ancestry, immutable: true);
    }

    /// <summary>An image missing here: fetched from the mirror's upstream and stored, or 404 when not a mirror.</summary>
    private static async Task<IResult> MirrorImageAsync(ImageId id, MirrorImageService mirror, Func<MirroredImage, IResult> found, CancellationToken ct)
    {
        if (!mirror.Enabled) return V1Results.Error(404, NotFound);
        var answer = await mirror.FetchAsync(id, ct);
        if (answer.Value is { } image) return found(image);
        return answer.Failure is { } failure ? V1Results.UpstreamError(failure) : V1Results.Error(404, NotFound);
    }

    private static async Task<IResult> GetFilesAsync(string imageId, HttpRequest request, ImageService svc, LayerFilesService files, CancellationToken ct)
    {
        var (early, id) = await CheckReadableAsync(imageId, request, svc, ct);
        if (early is not null) return early;
        var result = await files.GetFilesAsync(id, ct);
        return result.Outcome switch
        {
            LayerFilesOutcome.NotFound => V1Results.Error(404, NotFound),
            LayerFilesOutcome.Unsupported => V1Results.Error(400, "Layer format not supported"),
            _ => V1Results.Raw(result.Json!, immutable: true),
        };
    }

    /// <summary>The shared prefix of the json/ancestry/files checks: id, then in-progress, then If-Modified-Since.</summary>
    private static async Task<(IResult? Early, ImageId Id)> CheckReadableAsync(string imageId, HttpRequest request, ImageService svc, CancellationToken ct)
    {
        if (!ImageId.TryParse(imageId, out var id)) return (V1Results.Error(404, InvalidId), id);
        if (await svc.IsInProgressAsync(id, ct)) return (V1Results.Error(400, InProgress), id);
        if (request.Headers.ContainsKey(HeaderNames.IfModifiedSince)) return (V1Results.Empty(304, immutable: true), id);
        return (null, id);
    }

    /// <summary>True for a <c>docker/X.Y</c> User-Agent token older than 0.10 (the original's check, fixed).</summary>
    internal static bool IsDockerOlderThan010(string userAgent)
    {
        var m = DockerVersion().Match(userAgent);
        if (!m.Success) return false;
        var major = int.TryParse(m.Groups[1].Value, out var a) ? a : int.MaxValue;
        var minor = int.TryParse(m.Groups[2].Value, out var b) ? b : int.MaxValue;
        return major == 0 && minor < 10;
    }

    [GeneratedRegex(@"(?:^|\s)docker/(\d{1,9})\.(\d{1,9})", RegexOptions.CultureInvariant)]
    private static partial Regex DockerVersion();
}
