using System.Text.Json;
using Registry.Core.Http;
using Registry.Core.Names;

namespace Registry.Index.Webhooks;

public abstract record AddWebhookResult
{
    public sealed record Created(RepositoryWebhook Webhook) : AddWebhookResult;

    /// <summary>The body is not a JSON object with a string <c>url</c>.</summary>
    public sealed record DecodeError : AddWebhookResult;

    /// <summary>The URL is not an absolute http or https URL of at most <see cref="WebhookService.MaxUrlLength"/> characters.</summary>
    public sealed record InvalidUrl(string Problem) : AddWebhookResult;
}

/// <summary>
/// Registering and removing a repository's webhooks (docs/operating.md, 'Repository webhooks'). Who may is decided
/// before (the repository's writers: its namespace's user, admins, a write token); the network a URL points into is
/// checked at each delivery, where the address that is connected to is known.
/// </summary>
public sealed class WebhookService(IRepositoryWebhooks webhooks)
{
    /// <summary>The longest URL accepted (what browsers and most servers handle).</summary>
    public const int MaxUrlLength = 2048;

    public Task<IReadOnlyList<RepositoryWebhook>> ListAsync(RepositoryName repository, CancellationToken ct) =>
        webhooks.ListAsync(repository.FullName, ct);

    public async Task<AddWebhookResult> AddAsync(RepositoryName repository, byte[] body, CancellationToken ct)
    {
        using var document = JsonBody.TryParse(body);
        if (document is not { RootElement.ValueKind: JsonValueKind.Object } || !document.RootElement.TryGetProperty("url", out var value)
            || value.ValueKind != JsonValueKind.String)
            return new AddWebhookResult.DecodeError();
        var url = value.GetString()!;
        if (url.Length > MaxUrlLength) return new AddWebhookResult.InvalidUrl($"url is longer than {MaxUrlLength} characters");
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) || uri.Host.Length == 0)
            return new AddWebhookResult.InvalidUrl("url must be an absolute http or https URL");
        return new AddWebhookResult.Created(await webhooks.AddAsync(repository.FullName, url, ct));
    }

    /// <summary>False when the repository has no webhook with that id (an id that is not a number included).</summary>
    public async Task<bool> RemoveAsync(RepositoryName repository, string id, CancellationToken ct) =>
        long.TryParse(id, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number)
        && await webhooks.RemoveAsync(repository.FullName, number, ct);
}
