using System.Net.Http.Headers;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Registry.Core.Configuration;
using Registry.Core.Observability;

namespace Registry.Core.Notifications;

/// <summary>
/// Delivers each endpoint's queue in order, one event per POST as distribution's HTTP sink does, until the endpoint
/// answers 2xx. Retries follow distribution's breaker: after <c>threshold</c> failures in a row every further attempt
/// first waits <c>backoff</c> (distribution notifications doc, 'Endpoint configuration'; docs/operating.md, 'Notifications').
/// </summary>
public sealed class NotificationDelivery(RegistrySettings settings, Notifier notifier, ILogger<NotificationDelivery> logger) : BackgroundService
{
    // A queue that was empty is looked at again at least this often, in case a wake-up was missed.
    private static readonly TimeSpan IdlePoll = TimeSpan.FromSeconds(5);
    private readonly Dictionary<string, SemaphoreSlim> _wake = settings.Notifications.Endpoints.Where(e => !e.Disabled)
        .ToDictionary(e => e.Name, _ => new SemaphoreSlim(0), StringComparer.Ordinal);

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (!notifier.Enabled) return Task.CompletedTask;
        try
        {
            _ = notifier.Outboxes;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw settings.Error("notifications.outbox", $"the notification queues under {settings.Notifications.OutboxPath} cannot be opened: {e.Message}");
        }
        notifier.Appended += Wake;
        notifier.UpdateQueueDepth();
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var outboxes = notifier.Outboxes!;
        var loops = settings.Notifications.Endpoints.Where(e => !e.Disabled)
            .Select(e => DeliverAsync(e, outboxes.Queues[e.Name], stoppingToken)).ToList();
        await Task.WhenAll(loops);
    }

    public override void Dispose()
    {
        notifier.Appended -= Wake;
        foreach (var wake in _wake.Values) wake.Dispose();
        base.Dispose();
    }

    private void Wake()
    {
        // One pending release is enough: the loop drains the whole queue before it waits again.
        foreach (var wake in _wake.Values)
            if (wake.CurrentCount == 0) wake.Release();
    }

    private async Task DeliverAsync(NotificationEndpoint endpoint, EventOutbox outbox, CancellationToken ct)
    {
        using var client = new HttpClient { Timeout = endpoint.Timeout };
        var failures = 0;
        var queueBroken = false;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                try
                {
                    failures = await DeliverNextAsync(client, endpoint, outbox, failures, ct);
                    queueBroken = false;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // The queue file cannot be read or updated (disk, permissions): retry later, never stop the host.
                    if (!queueBroken) logger.LogError("notification endpoint {Endpoint}: its queue cannot be read or updated: {Error}", endpoint.Name, e.Message);
                    queueBroken = true;
                    await Task.Delay(endpoint.Backoff, ct);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    /// <summary>Sends the oldest queued event once (waiting first when the queue is empty); returns the failures in a row.</summary>
    private async Task<int> DeliverNextAsync(HttpClient client, NotificationEndpoint endpoint, EventOutbox outbox, int failures, CancellationToken ct)
    {
        if (outbox.Peek() is not { } next)
        {
            await _wake[endpoint.Name].WaitAsync(IdlePoll, ct);
            return failures;
        }
        if (next.Event is null)
        {
            logger.LogError("notification endpoint {Endpoint}: skipped an unreadable line in its queue", endpoint.Name);
            outbox.Acknowledge(next.End);
            notifier.UpdateQueueDepth();
            return failures;
        }
        if (failures >= endpoint.Threshold) await Task.Delay(endpoint.Backoff, ct);
        var problem = await SendAsync(client, endpoint, next.Event, ct);
        if (problem is null)
        {
            outbox.Acknowledge(next.End);
            notifier.UpdateQueueDepth();
            if (failures >= endpoint.Threshold) logger.LogInformation("notification endpoint {Endpoint} accepts events again", endpoint.Name);
            return 0;
        }
        RegistryMetrics.NotificationFailures.Inc();
        if (failures + 1 == endpoint.Threshold)
            logger.LogWarning("notification endpoint {Endpoint} failed {Count} times in a row ({Problem}); retrying every {Backoff}",
                endpoint.Name, failures + 1, problem, endpoint.Backoff);
        return failures + 1;
    }

    /// <summary>Null when the endpoint accepted the event; otherwise what went wrong.</summary>
    private static async Task<string?> SendAsync(HttpClient client, NotificationEndpoint endpoint, RegistryEvent e, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint.Url);
        request.Content = new ByteArrayContent(EventEnvelope.Serialize([e]));
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(EventEnvelope.MediaType);
        foreach (var (name, value) in endpoint.Headers)
        {
            if (!request.Headers.TryAddWithoutValidation(name, value)) request.Content.Headers.TryAddWithoutValidation(name, value);
        }
        try
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            return (int)response.StatusCode is >= 200 and < 300 ? null : $"status {(int)response.StatusCode}";
        }
        catch (HttpRequestException ex)
        {
            return ex.Message;
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            return $"no answer within {endpoint.Timeout}";
        }
    }
}
