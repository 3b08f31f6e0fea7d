using System.Text.Json.Serialization;

namespace Registry.Index.Webhooks;

/// <summary>A URL the owner of a repository registered to hear about its pushes (docs/operating.md, 'Repository webhooks').</summary>
public sealed record RepositoryWebhook(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("url")] string Url);

/// <summary>One webhook as stored, for copying a whole index database (<see cref="Database.IndexCopy"/>).</summary>
public sealed record StoredWebhook(string Repository, long Id, string Url, long Created);

/// <summary>The webhooks of each repository, in the index database; each engine has one implementation.</summary>
public interface IRepositoryWebhooks
{
    /// <summary>The repository's webhooks, oldest first.</summary>
    Task<IReadOnlyList<RepositoryWebhook>> ListAsync(string repository, CancellationToken ct);

    /// <summary>Registers <paramref name="url"/> for the repository and returns it with its new id.</summary>
    Task<RepositoryWebhook> AddAsync(string repository, string url, CancellationToken ct);

    /// <summary>Removes the webhook; false when the repository has none with that id.</summary>
    Task<bool> RemoveAsync(string repository, long id, CancellationToken ct);

    /// <summary>Every webhook of every repository, by id.</summary>
    Task<IReadOnlyList<StoredWebhook>> ListAllAsync(CancellationToken ct);

    /// <summary>
    /// Replaces every webhook with <paramref name="webhooks"/>, ids kept (their callback URLs name them); later ones
    /// get ids above the highest.
    /// </summary>
    Task ReplaceAllAsync(IReadOnlyList<StoredWebhook> webhooks, CancellationToken ct);
}
