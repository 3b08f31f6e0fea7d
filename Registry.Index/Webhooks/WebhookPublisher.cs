using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Registry.Core.Notifications;
using Registry.Core.Notifications.Webhooks;
using Registry.Core.Names;
using Registry.Index.Search;

namespace Registry.Index.Webhooks;

/// <summary>
/// After a push with a tag (V1 tag written, v2 manifest PUT with a tag), queues Docker Hub's webhook payload (Docker
/// Hub documentation, 'Webhooks', 'Example webhook payload') for every webhook of the repository. Never fails the push,
/// which storage already holds: an index database or storage that cannot be asked is logged and the push goes on
/// without webhooks.
/// </summary>
public sealed class WebhookPublisher(IRepositoryWebhooks webhooks, WebhookQueue queue, RepositoryCatalog catalog, ILogger<WebhookPublisher> logger)
{
    public async Task PushedAsync(HttpContext context, string repository, string tag, string? pusher, CancellationToken ct)
    {
        if (!queue.Enabled) return;
        IReadOnlyList<RepositoryWebhook> hooks;
        string description;
        var slash = repository.IndexOf('/');
        var (ns, name) = slash < 0 ? ("library", repository) : (repository[..slash], repository[(slash + 1)..]);
        try
        {
            hooks = await webhooks.ListAsync(repository, ct);
            if (hooks.Count == 0) return;
            description = await catalog.ReadDescriptionAsync(new RepositoryName(ns, name), ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogError("webhooks of {Repository} not sent for the push of {Tag}: {Error}", repository, tag, e.Message);
            return;
        }

        var baseUrl = Notifier.BaseUrl(context);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        foreach (var hook in hooks)
            queue.Append(new WebhookMessage(hook.Id, hook.Url, Payload(baseUrl, ns, name, description, tag, pusher, now, hook.Id)));
    }

    private static JsonObject Payload(string baseUrl, string ns, string name, string description, string tag, string? pusher, long now, long hookId) => new()
    {
        ["callback_url"] = $"{baseUrl}/v1/repositories/{ns}/{name}/webhooks/{hookId}/callback",
        ["push_data"] = new JsonObject
        {
            ["images"] = new JsonArray(),
            ["pushed_at"] = now,
            ["pusher"] = pusher ?? "",
            ["tag"] = tag,
        },
        ["repository"] = new JsonObject
        {
            ["comment_count"] = 0,
            // The registry does not record when a repository was created; the push's time stands in for it.
            ["date_created"] = now,
            ["description"] = description,
            ["is_official"] = false,
            ["is_private"] = false,
            ["is_trusted"] = false,
            ["name"] = name,
            ["namespace"] = ns,
            ["owner"] = ns,
            ["repo_name"] = $"{ns}/{name}",
            ["repo_url"] = $"{baseUrl}/ui/r/{ns}/{name}",
            ["star_count"] = 0,
            ["status"] = "Active",
        },
    };
}
