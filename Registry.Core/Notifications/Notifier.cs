using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Registry.Core.Configuration;
using Registry.Core.Observability;

namespace Registry.Core.Notifications;

/// <summary>
/// Turns what a request did into a <see cref="RegistryEvent"/> and appends it to the queue of every endpoint that
/// wants it (docs/operating.md, 'Notifications'). Never throws and never waits on a receiver: a push must not fail
/// or slow down because of notifications; an append that fails is logged and the request goes on.
/// </summary>
public sealed class Notifier : IDisposable
{
    private readonly NotificationSettings _settings;
    private readonly Lazy<OutboxDirectory>? _outboxes;
    private readonly ILogger<Notifier> _logger;
    private readonly string _hostName = Dns.GetHostName();

    public Notifier(NotificationSettings settings, ILogger<Notifier> logger)
    {
        _settings = settings;
        _logger = logger;
        // Opened on first use: CLI verbs that share the registrations never take an outbox slot.
        if (settings.Enabled) _outboxes = new Lazy<OutboxDirectory>(() => new OutboxDirectory(settings));
    }

    public bool Enabled => _outboxes is not null;

    /// <summary>This process's <c>source.instanceID</c>.</summary>
    public string InstanceId { get; } = Guid.NewGuid().ToString();

    /// <summary>Raised after an append, so that delivery wakes up.</summary>
    public event Action? Appended;

    /// <summary>The queues, opened now; null when notifications are off.</summary>
    public OutboxDirectory? Outboxes => _outboxes?.Value;

    /// <summary>
    /// Queues an event about <paramref name="target"/> caused by <paramref name="context"/>'s request, for every
    /// endpoint whose <c>ignore</c> lists let it through.
    /// </summary>
    public void Publish(HttpContext context, string action, EventTarget target, string? actor)
    {
        if (_outboxes is null) return;
        var wanting = _settings.Endpoints.Where(e => e.Wants(action, target.MediaType)).ToList();
        if (wanting.Count == 0) return;
        var e = new RegistryEvent
        {
            Id = Guid.NewGuid().ToString(),
            Timestamp = RegistryEvent.FormatTimestamp(DateTimeOffset.UtcNow),
            Action = action,
            Target = target,
            Request = RequestOf(context),
            Actor = new EventActor { Name = string.IsNullOrEmpty(actor) ? null : actor },
            Source = new EventSource { Addr = $"{_hostName}:{context.Connection.LocalPort}", InstanceId = InstanceId },
        };
        foreach (var endpoint in wanting)
        {
            try
            {
                _outboxes.Value.Queues[endpoint.Name].Append(e);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                _logger.LogError("notification {Action} of {Repository} for endpoint {Endpoint} was not queued: {Error}",
                    action, target.Repository, endpoint.Name, ex.Message);
            }
        }
        UpdateQueueDepth();
        Appended?.Invoke();
    }

    /// <summary>Sets <c>registry_notifications_queue_depth</c> to the events this process has queued and not delivered.</summary>
    public void UpdateQueueDepth()
    {
        if (_outboxes is { IsValueCreated: true }) RegistryMetrics.NotificationQueueDepth.Set(_outboxes.Value.Queues.Values.Sum(q => q.PendingEvents));
    }

    /// <summary>Releases this process's outbox slot (a host stopped inside a longer-lived process, as in tests).</summary>
    public void Dispose()
    {
        if (_outboxes is { IsValueCreated: true }) _outboxes.Value.Dispose();
    }

    /// <summary>
    /// <c>scheme://host</c> as the client addressed the registry (X-Forwarded-Proto and X-Forwarded-Host first, as
    /// distribution's URL builder does), for <c>target.url</c>.
    /// </summary>
    public static string BaseUrl(HttpContext context)
    {
        var headers = context.Request.Headers;
        var scheme = First(headers["X-Forwarded-Proto"]) ?? context.Request.Scheme;
        var host = First(headers["X-Forwarded-Host"]) ?? context.Request.Host.Value;
        return $"{scheme}://{host}";
    }

    private static EventRequest RequestOf(HttpContext context) => new()
    {
        Id = context.TraceIdentifier,
        Addr = RemoteAddr(context),
        Host = context.Request.Host.HasValue ? context.Request.Host.Value : null,
        Method = context.Request.Method,
        UserAgent = context.Request.Headers.UserAgent.ToString(),
    };

    /// <summary>The client address as distribution's <c>RemoteAddr</c> gives it: X-Forwarded-For, X-Real-Ip, then the peer.</summary>
    private static string? RemoteAddr(HttpContext context)
    {
        var headers = context.Request.Headers;
        if (First(headers["X-Forwarded-For"]) is { } forwarded) return forwarded;
        if (First(headers["X-Real-Ip"]) is { } real) return real;
        var ip = context.Connection.RemoteIpAddress;
        if (ip is null) return null;
        if (ip.IsIPv4MappedToIPv6) ip = ip.MapToIPv4();
        return new IPEndPoint(ip, context.Connection.RemotePort).ToString();
    }

    private static string? First(Microsoft.Extensions.Primitives.StringValues values) =>
        values.Count > 0 && values[0]!.Split(',')[0].Trim() is { Length: > 0 } first ? first : null;
}
