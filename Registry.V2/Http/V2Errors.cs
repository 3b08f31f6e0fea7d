namespace Registry.V2.Http;

/// <summary>The error codes of OCI distribution-spec v1.1, 'Error Codes' with their HTTP status and default message.</summary>
public sealed record V2ErrorCode(string Code, int Status, string Message)
{
    public static readonly V2ErrorCode BlobUnknown = new("BLOB_UNKNOWN", 404, "blob unknown to registry");
    public static readonly V2ErrorCode BlobUploadInvalid = new("BLOB_UPLOAD_INVALID", 404, "blob upload invalid");
    public static readonly V2ErrorCode BlobUploadUnknown = new("BLOB_UPLOAD_UNKNOWN", 404, "blob upload unknown to registry");
    public static readonly V2ErrorCode DigestInvalid = new("DIGEST_INVALID", 400, "provided digest did not match uploaded content");
    public static readonly V2ErrorCode ManifestBlobUnknown = new("MANIFEST_BLOB_UNKNOWN", 400, "blob unknown to registry");
    public static readonly V2ErrorCode ManifestInvalid = new("MANIFEST_INVALID", 400, "manifest invalid");
    public static readonly V2ErrorCode ManifestUnknown = new("MANIFEST_UNKNOWN", 404, "manifest unknown");
    public static readonly V2ErrorCode NameInvalid = new("NAME_INVALID", 400, "invalid repository name");
    public static readonly V2ErrorCode NameUnknown = new("NAME_UNKNOWN", 404, "repository name not known to registry");
    public static readonly V2ErrorCode SizeInvalid = new("SIZE_INVALID", 400, "provided length did not match content length");
    public static readonly V2ErrorCode Unauthorized = new("UNAUTHORIZED", 401, "authentication required");
    public static readonly V2ErrorCode Denied = new("DENIED", 403, "requested access to the resource is denied");
    public static readonly V2ErrorCode Unsupported = new("UNSUPPORTED", 405, "The operation is unsupported.");
    public static readonly V2ErrorCode TooManyRequests = new("TOOMANYREQUESTS", 429, "too many requests");
    public static readonly V2ErrorCode RangeInvalid = new("RANGE_INVALID", 416, "invalid content range");
    public static readonly V2ErrorCode PaginationNumberInvalid = new("PAGINATION_NUMBER_INVALID", 400, "invalid number of results requested");
    public static readonly V2ErrorCode TagInvalid = new("TAG_INVALID", 400, "manifest tag did not match URI");
    public static readonly V2ErrorCode Unknown = new("UNKNOWN", 500, "unknown error");
    public static readonly V2ErrorCode Unavailable = new("UNAVAILABLE", 503, "service unavailable");

    /// <summary>
    /// The code for a failure that the host noticed outside a handler (broken request framing, too large, too slow,
    /// storage down, a bug): the table's code where one fits, with the status the host chose.
    /// </summary>
    public static V2ErrorCode ForStatus(int status) => status switch
    {
        404 => new("UNSUPPORTED", 404, "endpoint not found"),
        405 => Unsupported,
        429 => TooManyRequests,
        503 => Unavailable,
        >= 500 => Unknown,
        _ => new("UNSUPPORTED", status, "request not accepted"),
    };
}

/// <summary>
/// One entry of the error envelope. <see cref="Detail"/> is any JSON-serializable value; when
/// <see cref="HasDetail"/> is false the key is left out (distribution omits it for plain codes).
/// </summary>
public sealed record V2Error(V2ErrorCode Code, string? Message = null, object? Detail = null, bool HasDetail = false)
{
    public static V2Error With(V2ErrorCode code, object? detail, string? message = null) => new(code, message, detail, true);
}
