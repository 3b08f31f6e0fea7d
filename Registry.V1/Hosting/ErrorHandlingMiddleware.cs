using System.Globalization;
using Microsoft.AspNetCore.Connections;
using Registry.Core.Observability;
using Registry.Core.Storage;
using Registry.Index.Accounts;
using Registry.Index.Database;
using Registry.V1.ErrorMail;

namespace Registry.V1.Hosting;

/// <summary>
/// Turns what escapes a handler into the protocol's error shape: a request the client broke (aborted body,
/// bad chunking, too slow, too large) or a storage key that cannot exist is the client's 4xx; a store that
/// failed (<see cref="StorageUnavailableException"/>) is a logged 503, an index database that cannot be reached
/// (<see cref="IndexUnavailableException"/>) or an LDAP directory that cannot (<see cref="DirectoryUnavailableException"/>)
/// a 503 with <c>Retry-After</c> and one warning line; anything else is a logged 500,
/// also mailed when <c>email_exceptions:</c> is configured (<see cref="ErrorMailer"/>).
/// </summary>
public sealed class ErrorHandlingMiddleware(RequestDelegate next, ILogger<ErrorHandlingMiddleware> logger, ErrorMailer mailer)
{
    /// <summary>The error clients get; the store's own answer (bucket, error code) goes to the log only.</summary>
    public const string StorageUnavailableMessage = "Storage unavailable, retry later";

    /// <summary>The error clients get while the index database is down; its location and the driver's reason go to the log.</summary>
    public const string IndexUnavailableMessage = "Index database unavailable, retry later";

    /// <summary>The error clients get while the LDAP directory of <c>auth.backend: ldap</c> cannot be reached.</summary>
    public const string DirectoryUnavailableMessage = "Account directory unavailable, retry later";

    /// <summary>How long clients are asked to wait before retrying while the index database is down.</summary>
    public static readonly TimeSpan IndexRetryAfter = TimeSpan.FromSeconds(5);

    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (BadHttpRequestException e)
        {
            // The body was not read to its end, so the connection should carry no further request: Kestrel closes it
            // after its own rejections, and the header after ours (BodyIdleTimeoutMiddleware) once it has drained or
            // given up draining the rest of the body.
            await WriteAsync(context, e.StatusCode, e.StatusCode == 413 ? "Request body too large" : "Bad request: " + e.Message, closeConnection: true);
        }
        catch (Exception e) when (context.RequestAborted.IsCancellationRequested && e is OperationCanceledException or IOException or ConnectionResetException)
        {
            logger.LogDebug("{Method} {Path}: client went away", context.Request.Method, context.Request.Path);
        }
        catch (IOException e) when (IsMalformedRequestBody(e))
        {
            await WriteAsync(context, 400, "Bad request: " + e.Message);
        }
        catch (StoragePathException e)
        {
            await WriteAsync(context, 400, "Invalid name: " + e.Message);
        }
        catch (PathTooLongException)
        {
            await WriteAsync(context, 400, "Name too long");
        }
        catch (StorageUnavailableException e)
        {
            // The store is at fault, not the request: a retry may succeed, so 503 rather than 500.
            RegistryMetrics.StorageErrors.Inc();
            logger.LogError(e, "Storage unavailable on {Method} {Path}: {Message}", context.Request.Method, context.Request.Path, e.Message);
            await WriteAsync(context, 503, StorageUnavailableMessage);
        }
        catch (IndexUnavailableException e)
        {
            // A database restart or failover is expected operations, not a bug: one line without a stack trace.
            RegistryMetrics.IndexDatabaseErrors.Inc();
            logger.LogWarning("Index database unavailable on {Method} {Path}: {Message}", context.Request.Method, context.Request.Path, e.Message);
            await WriteAsync(context, 503, IndexUnavailableMessage, IndexRetryAfter);
        }
        catch (DirectoryUnavailableException)
        {
            // LdapDirectory logged the reason; the client's password may be right, so 503 and not 401.
            await WriteAsync(context, 503, DirectoryUnavailableMessage, IndexRetryAfter);
        }
        catch (Exception e)
        {
            logger.LogError(e, "Unhandled error on {Method} {Path}", context.Request.Method, context.Request.Path);
            mailer.Report(e, context);
            await WriteAsync(context, 500, "Internal server error");
        }
    }

    /// <summary>
    /// Kestrel reports some broken request framing (a chunk size that overflows) as a plain IOException thrown from its
    /// own body reader rather than a BadHttpRequestException; it is still the client's malformed request.
    /// </summary>
    private static bool IsMalformedRequestBody(IOException e) => IsThrownByKestrel(e);

    /// <summary>
    /// Kestrel throws plain IOExceptions for some failures (malformed request framing, an address it cannot bind);
    /// where it was thrown tells them from the application's own I/O errors.
    /// </summary>
    internal static bool IsThrownByKestrel(IOException e) =>
        e.TargetSite?.DeclaringType?.FullName?.StartsWith("Microsoft.AspNetCore.Server.Kestrel.", StringComparison.Ordinal) == true;

    private static async Task WriteAsync(HttpContext context, int status, string message, TimeSpan? retryAfter = null, bool closeConnection = false)
    {
        if (context.Response.HasStarted)
        {
            context.Abort();
            return;
        }
        context.Response.Clear();
        if (closeConnection) context.Response.Headers.Connection = "close";
        if (retryAfter is { } wait) context.Response.Headers.RetryAfter = wait.TotalSeconds.ToString(CultureInfo.InvariantCulture);
        await HostErrors.WriteAsync(context, status, message, message);
    }
}
