using System.Net;
using Microsoft.AspNetCore.Routing.Patterns;
using Registry.Core.Configuration;
using Registry.V2.Routing;

namespace Registry.V1.Hosting;

/// <summary>
/// Bounds the layer uploads (<c>PUT /v1/images/{id}/layer</c>, v2 blob POST/PATCH/PUT) running at once, per client address
/// and in all (<see cref="UploadLimitSettings"/>): each holds a file handle, a temp file and a hashing pipeline for as long
/// as the client cares to trickle. A burst beyond the bounds waits for a slot (<see cref="UploadSlots"/>); only a full
/// queue or a wait past <c>upload_queue_timeout_seconds</c> answers 429 with <c>Retry-After</c>, which docker retries.
/// </summary>
public sealed class UploadLimitMiddleware(RequestDelegate next, RegistrySettings settings)
{
    public const string Message = "Too many concurrent uploads from this client";

    /// <summary>Seconds a refused client is asked to wait: about what a small layer upload takes.</summary>
    public const int RetryAfterSeconds = 5;

    private const string LayerRoute = "/v1/images/{imageId}/layer";

    private readonly UploadSlots _slots = new(settings.Uploads);

    public async Task InvokeAsync(HttpContext context)
    {
        if (!settings.Uploads.Enabled || !IsLayerUpload(context))
        {
            await next(context);
            return;
        }

        var client = ClientAddress(context);
        switch (await _slots.EnterAsync(client, context.RequestAborted))
        {
            case UploadSlots.Admission.ClientGone:
                return;
            case UploadSlots.Admission.QueueFull or UploadSlots.Admission.TimedOut:
                context.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                await HostErrors.WriteAsync(context, 429, Message, Message);
                return;
        }
        try
        {
            await next(context);
        }
        finally
        {
            _slots.Leave(client);
        }
    }

    private static bool IsLayerUpload(HttpContext context) =>
        HttpMethods.IsPut(context.Request.Method)
        && context.GetEndpoint() is RouteEndpoint { RoutePattern: RoutePattern { RawText: LayerRoute } }
        || IsV2BlobUpload(context.Request, V2Route.Parse(context.Request.Path.Value ?? ""));

    /// <summary>v2 requests that carry blob bytes: a monolithic POST (<c>?digest=</c>), PATCH and PUT of a session.</summary>
    private static bool IsV2BlobUpload(HttpRequest request, V2Route? route) => route?.Kind switch
    {
        V2RouteKind.UploadStart => HttpMethods.IsPost(request.Method) && request.Query.ContainsKey("digest"),
        V2RouteKind.Upload => HttpMethods.IsPatch(request.Method) || HttpMethods.IsPut(request.Method),
        _ => false,
    };

    /// <summary>The peer address, IPv4-mapped IPv6 folded to IPv4 so one client has one key on a dual-stack socket.</summary>
    private static IPAddress ClientAddress(HttpContext context)
    {
        var address = context.Connection.RemoteIpAddress ?? IPAddress.None;
        return address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
    }
}
