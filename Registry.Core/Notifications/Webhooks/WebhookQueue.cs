using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging;
using Registry.Core.Configuration;

namespace Registry.Core.Notifications.Webhooks;

/// <summary>One queued webhook POST: the hook, where it goes, and the body (docs/operating.md, 'Repository webhooks').</summary>
public sealed record WebhookMessage(
    [property: JsonPropertyName("hook")] long HookId,
    [property: JsonPropertyName("url")] string Url,
    [property: JsonPropertyName("payload")] JsonObject Payload);

/// <summary>
/// The durable queue of all repository webhooks: the notifications' <see cref="EventOutbox"/> in its own slot folder
/// under <c>&lt;outbox&gt;/webhooks</c>, delivered in order by <see cref="WebhookDelivery"/>. Appending never throws:
/// a push must not fail because of a webhook; a failed append is logged.
/// </summary>
public sealed class WebhookQueue : IDisposable
{
    private const string QueueName = "webhooks";
    private readonly Lazy<OutboxDirectory>? _outbox;
    private readonly ILogger<WebhookQueue> _logger;

    private readonly string? _root;

    public WebhookQueue(WebhookSettings settings, ILogger<WebhookQueue> logger)
    {
        _logger = logger;
        _root = settings.OutboxPath;
        // Opened on first use: CLI verbs that share the registrations never take a slot.
        if (settings.OutboxPath is { } root) _outbox = new Lazy<OutboxDirectory>(() => new OutboxDirectory(root, [QueueName]));
    }

    /// <summary>False when there is no local directory for the queue (storage not local and no notifications.outbox).</summary>
    public bool Enabled => _outbox is not null;

    /// <summary>
    /// True once there is something to deliver: the queue was opened by an append, or a previous process left its
    /// folder. Until then nothing is created under the storage directory of a registry that has no webhooks.
    /// </summary>
    public bool Started => _outbox is { IsValueCreated: true } || (_root is not null && Directory.Exists(_root));

    /// <summary>Raised after an append, so that delivery wakes up.</summary>
    public event Action? Appended;

    /// <summary>The queue, opened now; null when webhooks are off.</summary>
    public EventOutbox? Queue => _outbox?.Value.Queues[QueueName];

    public void Append(WebhookMessage message)
    {
        if (_outbox is null) return;
        try
        {
            _outbox.Value.Queues[QueueName].AppendLine(JsonSerializer.Serialize(message));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _logger.LogError("webhook {Hook} ({Url}) was not queued: {Error}", message.HookId, message.Url, e.Message);
            return;
        }
        Appended?.Invoke();
    }

    public void Dispose()
    {
        if (_outbox is { IsValueCreated: true }) _outbox.Value.Dispose();
    }
}
