using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Registry.V2.Http;

/// <summary>Writers of v2 responses: the error envelope of Docker Registry HTTP API V2, 'Errors' and the common headers.</summary>
public static class V2Results
{
    public const string ApiVersionHeader = "Docker-Distribution-API-Version";
    public const string ApiVersion = "registry/2.0";
    public const string ContentDigestHeader = "Docker-Content-Digest";
    public const string UploadUuidHeader = "Docker-Upload-UUID";

    /// <summary>An error response with one entry and the code's default message; the status is the code's.</summary>
    public static IResult Error(V2ErrorCode code) => Errors([new V2Error(code)]);

    /// <summary>An error response with one entry carrying a <c>detail</c> (a string, an object, an array or null).</summary>
    public static IResult Error(V2ErrorCode code, object? detail) => Errors([V2Error.With(code, detail)]);

    /// <summary>An error response with one entry whose message replaces the code's default (no <c>detail</c>).</summary>
    public static IResult WithMessage(V2ErrorCode code, string message) => Errors([new V2Error(code, message)]);

    /// <summary>An error response; the status is the first entry's (Docker Registry HTTP API V2, 'Errors').</summary>
    public static IResult Errors(IReadOnlyList<V2Error> errors) => new ErrorResult(errors);

    /// <summary>The envelope bytes (also used by middleware that writes without an endpoint).</summary>
    public static byte[] Envelope(IReadOnlyList<V2Error> errors)
    {
        var array = new JsonArray();
        foreach (var e in errors)
        {
            var entry = new JsonObject { ["code"] = e.Code.Code, ["message"] = e.Message ?? e.Code.Message };
            if (e.HasDetail) entry["detail"] = e.Detail is null ? null : JsonSerializer.SerializeToNode(e.Detail);
            array.Add(entry);
        }
        return JsonSerializer.SerializeToUtf8Bytes(new JsonObject { ["errors"] = array }, EnvelopeOptions);
    }

    // Go's encoder leaves '+' and '\'' as they are; so do we (the default escapes them as \u002B, \u0027).
    private static readonly JsonSerializerOptions EnvelopeOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Writes an error directly to a response that has not started.</summary>
    public static async Task WriteErrorAsync(HttpResponse response, IReadOnlyList<V2Error> errors)
    {
        response.StatusCode = errors[0].Code.Status;
        response.Headers[ApiVersionHeader] = ApiVersion;
        if (HttpMethods.IsHead(response.HttpContext.Request.Method)) return;
        var body = Envelope(errors);
        response.ContentType = "application/json";
        response.ContentLength = body.Length;
        await response.Body.WriteAsync(body);
    }

    private sealed class ErrorResult(IReadOnlyList<V2Error> errors) : IResult, IStatusCodeHttpResult
    {
        public int? StatusCode => errors[0].Code.Status;

        public Task ExecuteAsync(HttpContext httpContext) => WriteErrorAsync(httpContext.Response, errors);
    }
}
