using Microsoft.Extensions.Logging;

namespace Registry.Core.Observability;

/// <summary>One write or delete as the audit log records it; "-" stands for a field the request does not have.</summary>
/// <param name="Action">The method and route template, e.g. <c>PUT /v2/&lt;name&gt;/manifests/&lt;reference&gt;</c>.</param>
/// <param name="Reference">The tag, digest, image id or account name the request names.</param>
public sealed record AuditEntry(string Action, string User, string Client, string Repository, string Reference, int Status, string RequestId);

/// <summary>
/// Writes the audit log: one structured line per write or delete under the category <see cref="Category"/>, so that
/// operators can route it on its own (a logging filter, or the <c>Category</c> field of JSON logs).
/// </summary>
public sealed class AuditLog(ILoggerFactory loggers)
{
    public const string Category = "Registry.Audit";

    private readonly ILogger _logger = loggers.CreateLogger(Category);

    public void Write(AuditEntry e) =>
        _logger.LogInformation(
            "audit {Action} user={User} client={Client} repository={Repository} reference={Reference} status={Status} request_id={RequestId}",
            e.Action, e.User, e.Client, e.Repository, e.Reference, e.Status, e.RequestId);
}
