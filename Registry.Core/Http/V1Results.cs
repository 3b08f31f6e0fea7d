using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Registry.Core.Http;

/// <summary>
/// The registry's wire responses (docs/client-behaviour.md, 'V1 response conventions'): JSON bodies with the NC header set, raw stored documents,
/// errors as <c>{"error": "..."}</c>.
/// </summary>
public static class V1Results
{
    private static readonly byte[] TrueBody = "true"u8.ToArray();

    /// <summary>200 <c>true</c>: the registry's success body for writes.</summary>
    public static IResult True() => new BytesResult(200, TrueBody, immutable: false);

    /// <summary>A JSON body serialised in the original's style, NC headers.</summary>
    public static IResult Json(JsonNode? body, int status = 200) =>
        new BytesResult(status, Encoding.UTF8.GetBytes(PyJson.Serialize(body)), immutable: false);

    /// <summary>A JSON string body such as <c>"OK"</c> or <c>""</c>, NC headers.</summary>
    public static IResult JsonString(string value, int status = 200) =>
        new BytesResult(status, Encoding.UTF8.GetBytes(PyJson.Serialize(value)), immutable: false);

    /// <summary>Stored JSON returned byte for byte, never re-serialised.</summary>
    public static IResult Raw(byte[] body, bool immutable, IReadOnlyList<KeyValuePair<string, string>>? headers = null) =>
        new BytesResult(200, body, immutable, headers);

    /// <summary><c>{"error": message}</c> with NC headers.</summary>
    public static IResult Error(int status, string message) =>
        new BytesResult(status, Encoding.UTF8.GetBytes(ErrorBody(message)), immutable: false);

    /// <summary>
    /// <c>{"error": message}</c> with the failure's status (502 or 503), and <c>Retry-After</c> when it carries one
    /// (a temporary V1 failure always does).
    /// </summary>
    public static IResult UpstreamError(UpstreamFailure failure) => new UpstreamErrorResult(failure);

    /// <summary>A response without a body (204, 304); IMM headers for the 304s of immutable endpoints.</summary>
    public static IResult Empty(int status, bool immutable = false) => new EmptyResult(status, immutable);

    public static string ErrorBody(string message) => "{\"error\": " + PyJson.Serialize(message) + "}";

    private sealed class BytesResult(int status, byte[] body, bool immutable, IReadOnlyList<KeyValuePair<string, string>>? headers = null) : IResult
    {
        public Task ExecuteAsync(HttpContext context)
        {
            var response = context.Response;
            response.StatusCode = status;
            if (immutable) V1Headers.ApplyImmutable(response);
            else V1Headers.ApplyNoCache(response);
            response.ContentType = "application/json";
            if (headers is not null)
                foreach (var (key, value) in headers)
                    response.Headers.Append(key, value);
            response.ContentLength = body.Length;
            return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : response.Body.WriteAsync(body).AsTask();
        }
    }

    private sealed class UpstreamErrorResult(UpstreamFailure failure) : IResult
    {
        public Task ExecuteAsync(HttpContext context)
        {
            if (failure.RetryAfter is { } retry)
                context.Response.Headers.RetryAfter = ((int)Math.Ceiling(retry.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            return Error(failure.Status, failure.Message).ExecuteAsync(context);
        }
    }

    private sealed class EmptyResult(int status, bool immutable) : IResult
    {
        public Task ExecuteAsync(HttpContext context)
        {
            context.Response.StatusCode = status;
            if (immutable) V1Headers.ApplyImmutable(context.Response);
            else V1Headers.ApplyNoCache(context.Response);
            return Task.CompletedTask;
        }
    }
}
