using Registry.Core.Maintenance;
using Registry.Index.Search;

namespace Registry.Index.Database;

/// <summary>The number of rows copied of each table by <see cref="IndexCopy.CopyAsync"/>.</summary>
public sealed record IndexCopyCounts(int Accounts, int ImageMemberships, int PrivateRepositories, int SearchRepositories, int Webhooks, int Stars, int Comments);

/// <summary>The outcome of <see cref="IndexCopy.CopyAsync"/>: the counts, or none when the destination was not empty and nothing was copied.</summary>
public sealed record IndexCopyResult(IndexCopyCounts? Copied);

/// <summary>
/// Copies everything one index database holds into another, of either engine, through the store interfaces:
/// accounts with their password hashes as stored (they cannot be rebuilt from storage), image membership,
/// private repositories, the search rows with their descriptions and star counts, and repository webhooks with their
/// ids (their callback URLs name them), stars and comments (comment ids kept). Used to move a registry
/// from SQLite to PostgreSQL.
/// </summary>
public static class IndexCopy
{
    /// <summary>
    /// Copies <paramref name="source"/> into <paramref name="destination"/>. A destination that already holds
    /// accounts or repositories is left alone unless <paramref name="replace"/>, whose content is then replaced.
    /// <paramref name="progress"/> hears the rows written, table by table (image memberships repository by repository).
    /// </summary>
    public static async Task<IndexCopyResult> CopyAsync(
        IIndexDatabase source, IIndexDatabase destination, bool replace, CancellationToken ct, IProgress<WorkProgress>? progress = null)
    {
        var from = await source.OpenSearchIndexAsync(cacheResults: false, ct);
        var to = await destination.OpenSearchIndexAsync(cacheResults: false, ct);
        try
        {
            if (!replace && await HoldsDataAsync(destination, to, ct))
                return new IndexCopyResult(null);

            var accounts = await source.Accounts.ListAllAsync(ct);
            var memberships = await source.Images.ListAllAsync(ct);
            var privates = await source.PrivateRepositories.ListAllAsync(ct);
            var searchRows = await from.ListAllAsync(ct);
            var webhooks = await source.Webhooks.ListAllAsync(ct);
            var (stars, comments) = await source.Hub.ListAllAsync(ct);

            await destination.Accounts.ReplaceAllAsync(accounts, ct);
            progress?.Report(new WorkProgress("copying accounts", accounts.Count, accounts.Count));
            await destination.Images.ClearAsync(ct);
            var added = 0;
            foreach (var repository in memberships.GroupBy(m => m.Repository, StringComparer.Ordinal))
            {
                var ids = repository.Select(m => m.ImageId).ToList();
                await destination.Images.AddAsync(repository.Key, ids, ct);
                added += ids.Count;
                progress?.Report(new WorkProgress("copying image memberships", added, memberships.Count));
            }
            await destination.PrivateRepositories.ReplaceAllAsync(privates, ct);
            progress?.Report(new WorkProgress("copying private repositories", privates.Count, privates.Count));
            await to.ReplaceAllAsync(searchRows, ct);
            progress?.Report(new WorkProgress("copying search repositories", searchRows.Count, searchRows.Count));
            await destination.Webhooks.ReplaceAllAsync(webhooks, ct);
            progress?.Report(new WorkProgress("copying webhooks", webhooks.Count, webhooks.Count));
            // The search rows above carry their star counts already.
            await destination.Hub.ReplaceAllAsync(stars, comments, ct);
            progress?.Report(new WorkProgress("copying stars and comments", stars.Count + comments.Count, stars.Count + comments.Count));
            return new IndexCopyResult(new IndexCopyCounts(
                accounts.Count, memberships.Count, privates.Count, searchRows.Count, webhooks.Count, stars.Count, comments.Count));
        }
        finally
        {
            (from as IDisposable)?.Dispose();
            (to as IDisposable)?.Dispose();
        }
    }

    private static async Task<bool> HoldsDataAsync(IIndexDatabase database, ISearchIndex search, CancellationToken ct) =>
        (await database.Accounts.ListAllAsync(ct)).Count > 0
        || await database.Images.CountAsync(ct) > 0
        || (await database.PrivateRepositories.ListAllAsync(ct)).Count > 0
        || await search.CountAsync(ct) > 0
        || (await database.Webhooks.ListAllAsync(ct)).Count > 0
        || (await database.Hub.AllStarCountsAsync(ct)).Count > 0;
}
