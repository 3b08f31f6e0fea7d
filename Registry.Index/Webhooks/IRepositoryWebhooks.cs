using System.Text.Json.Serialization;

namespace Registry.Index.Webhooks;

/// <summary>A URL the owner of a repository registered to hear about its pushes (docs/operating.md, 'Repository webhooks').</summary>
public sealed record RepositoryWebhook(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("url")] string Url);

/// <summary>The webhooks of each repository, in the index database; each engine has one implementation.</summary>
public interface IRepositoryWebhooks
{
    /// <summary>The repository's webhooks, oldest first.</summary>
    Task<IReadOnlyList<RepositoryWebhook>> ListAsync(string repository, CancellationToken ct);

    /// <summary>Registers <paramref name="url"/> for the repository and returns it with its new id.</summary>
    Task<RepositoryWebhook> AddAsync(string repository, string url, CancellationToken ct);

    /// <summary>Removes the webhook; false when the repository has none with that id.</summary>
    Task<bool> RemoveAsync(string repository, long id, CancellationToken ct);
}
