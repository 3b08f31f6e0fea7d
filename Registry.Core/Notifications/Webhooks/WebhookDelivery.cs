using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Registry.Core.Notifications.Webhooks;

/// <summary>
/// Sends the webhook queue in order, one POST per message through <see cref="WebhookNetworkGuard"/>, until the
/// receiver answers 2xx; failures are retried with a doubling wait (0.5 s up to 1 min). A message the guard refuses
/// cannot succeed later, so it is dropped, logged once per URL (docs/operating.md, 'Repository webhooks').
/// </summary>
public sealed class WebhookDelivery(WebhookQueue queue, WebhookNetworkGuard guard, ILogger<WebhookDelivery> logger) : BackgroundService
{
    private static readonly TimeSpan IdlePoll = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan MaxRetry = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly SemaphoreSlim _wake = new(0);
    private readonly HashSet<string> _refusedUrls = new(StringComparer.Ordinal);

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (!queue.Enabled) return Task.CompletedTask;
        queue.Appended += Wake;
        return base.StartAsync(cancellationToken);
    }

    public override void Dispose()
    {
        queue.Appended -= Wake;
        _wake.Dispose();
        base.Dispose();
    }

    private void Wake()
    {
        if (_wake.CurrentCount == 0) _wake.Release();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!queue.Started) await _wake.WaitAsync(IdlePoll, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return;
        }
        var outbox = queue.Queue!;
        using var client = new HttpClient(guard.CreateHandler()) { Timeout = Timeout };
        var failures = 0;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    failures = await DeliverNextAsync(client, outbox, failures, stoppingToken);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    logger.LogError("the webhook queue cannot be read or updated: {Error}", e.Message);
                    await Task.Delay(MaxRetry, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task<int> DeliverNextAsync(HttpClient client, EventOutbox outbox, int failures, CancellationToken ct)
    {
        if (outbox.PeekLine() is not { } next)
        {
            await _wake.WaitAsync(IdlePoll, ct);
            return failures;
        }
        WebhookMessage? message;
        try
        {
            message = JsonSerializer.Deserialize<WebhookMessage>(next.Line);
        }
        catch (JsonException)
        {
            message = null;
        }
        if (message is null)
        {
            logger.LogError("skipped an unreadable line in the webhook queue");
            outbox.Acknowledge(next.End);
            return failures;
        }
        if (failures > 0) await Task.Delay(RetryDelay(failures), ct);
        using var request = new HttpRequestMessage(HttpMethod.Post, message.Url)
        {
            Content = new ByteArrayContent(Encoding.UTF8.GetBytes(message.Payload.ToJsonString())),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        string problem;
        try
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            if ((int)response.StatusCode is >= 200 and < 300)
            {
                outbox.Acknowledge(next.End);
                return 0;
            }
            problem = $"status {(int)response.StatusCode}";
        }
        catch (HttpRequestException e) when (WebhookRefusedException.Find(e) is { } refused)
        {
            if (_refusedUrls.Add(message.Url)) logger.LogWarning("webhook {Hook} to {Url} dropped: {Reason}", message.HookId, message.Url, refused.Message);
            outbox.Acknowledge(next.End);
            return 0;
        }
        catch (HttpRequestException e)
        {
            problem = e.Message;
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            problem = $"no answer within {Timeout}";
        }
        if (failures == 0) logger.LogInformation("webhook {Hook} to {Url} failed ({Problem}); retrying", message.HookId, message.Url, problem);
        return failures + 1;
    }

    private static TimeSpan RetryDelay(int failures) =>
        TimeSpan.FromTicks(Math.Min(MaxRetry.Ticks, FirstRetry.Ticks << Math.Min(failures - 1, 20)));
}
