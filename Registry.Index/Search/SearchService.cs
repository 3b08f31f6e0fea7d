using Microsoft.AspNetCore.Http;
using Registry.Core.Configuration;
using Registry.Index.Accounts;

namespace Registry.Index.Search;

public enum SearchOutcome { Found, Disabled, QueryTooLong, QueryHasNul }

/// <summary>
/// What a search found: on <see cref="SearchOutcome.Found"/>, the page of results and the page size and number
/// it was cut with (the request's, defaulted and clamped).
/// </summary>
public sealed record SearchResult(SearchOutcome Outcome, SearchPage? Page = null, int PageSize = 0, int PageNumber = 0);

/// <summary>
/// Repository search (Docker Registry HTTP API V1, "Search"), answered from the search indexes, never from storage:
/// the shared index's page, or, for a user who may read private repositories (their own; admins all, as
/// <see cref="AccessPolicy"/> says), those matches first and then the shared ones, paged as one list. Wrong
/// credentials search as anonymous. On a mirror the upstream index's matches follow the local ones (docs/configuration.md,
/// 'V1 mirroring'): one list, de-duplicated by name, paged and counted as one; an upstream that cannot answer leaves
/// the local results.
/// </summary>
public sealed class SearchService(
    ISearchIndex index, IPrivateRepositories privates, AuthSettings auth, Authenticator authenticator, AccessPolicy policy, RegistrySettings settings,
    IUpstreamSearch upstream, Hub.IHubStore hub)
{
    /// <summary>How far into the merged list of a mirror paging reaches (upstream pages asked per search are bounded by it).</summary>
    public const int MaxMergedResults = 1000;

    public const int DefaultPageSize = 25;
    public const int MaxPageSize = 100;
    public const int MaxQueryLength = 255;

    /// <summary>
    /// Searches for <paramref name="query"/> as the caller of <paramref name="request"/>. A missing page size or
    /// page number takes the default; any other is clamped to the allowed range.
    /// </summary>
    public async Task<SearchResult> SearchAsync(HttpContext request, string query, long? pageSize, long? pageNumber, CancellationToken ct)
    {
        if (!settings.SearchEnabled) return new SearchResult(SearchOutcome.Disabled);
        if (query.Length > MaxQueryLength) return new SearchResult(SearchOutcome.QueryTooLong);
        // SQLite's FTS5 query parser ends a string at NUL and fails; no repository name can contain one anyway.
        if (query.Contains('\0')) return new SearchResult(SearchOutcome.QueryHasNul);

        var size = Clamp(pageSize ?? DefaultPageSize, 1, MaxPageSize);
        var page = Clamp(pageNumber ?? 1, 1, int.MaxValue);
        var found = upstream.Enabled ? await SearchMergedAsync(request, query, size, page, ct) : await SearchVisibleAsync(request, query, size, page, ct);
        return new SearchResult(SearchOutcome.Found, found, size, page);
    }

    private async Task<SearchPage> SearchMergedAsync(HttpContext request, string query, int pageSize, int page, CancellationToken ct)
    {
        var offset = (long)(page - 1) * pageSize;
        if (offset + pageSize > MaxMergedResults) return await SearchVisibleAsync(request, query, pageSize, page, ct);
        var window = (int)(offset + pageSize);
        var local = await SearchVisibleAsync(request, query, window, 1, ct);
        var remote = await upstream.SearchAsync(query, window, ct);
        if (remote is null) return new SearchPage(local.NumResults, local.Results.Skip((int)offset).ToList());
        var names = local.Results.Select(r => r.Name).ToHashSet(StringComparer.Ordinal);
        var added = remote.Results.Where(r => names.Add(r.Name)).ToList();
        var merged = local.Results.Concat(added).Skip((int)offset).Take(pageSize).ToList();
        return new SearchPage(local.NumResults + remote.NumResults - (remote.Results.Count - added.Count), merged);
    }

    private async Task<SearchPage> SearchVisibleAsync(HttpContext request, string query, int pageSize, int page, CancellationToken ct)
    {
        if (!auth.Enabled) return await index.SearchAsync(query, pageSize, page, ct);
        var principal = await authenticator.AuthenticateAsync(request, ct);
        if (principal.Kind != PrincipalKind.User) return await index.SearchAsync(query, pageSize, page, ct);
        var mine = await privates.SearchAsync(query, principal.User, policy.IsAdmin(principal), ct);
        if (mine.Count == 0) return await index.SearchAsync(query, pageSize, page, ct);

        var offset = (long)(page - 1) * pageSize;
        var results = await WithStarsAsync(mine.Skip((int)Math.Min(offset, mine.Count)).Take(pageSize).ToList(), ct);
        var publicOffset = Math.Max(0, offset - mine.Count);
        var shared = await index.SearchRangeAsync(query, publicOffset, Math.Max(1, pageSize - results.Count), ct);
        if (results.Count < pageSize) results.AddRange(shared.Results.Take(pageSize - results.Count));
        return new SearchPage(mine.Count + shared.NumResults, results);
    }

    /// <summary>Private rows are kept apart from the shared search rows and hold no star count: it is read from the stars.</summary>
    private async Task<List<SearchEntry>> WithStarsAsync(List<SearchEntry> entries, CancellationToken ct)
    {
        var stars = await hub.StarCountsAsync(entries.Select(e => Hub.HubNames.StarKeyOf(e.Name)).Distinct().ToList(), ct);
        return entries.Select(e => stars.TryGetValue(Hub.HubNames.StarKeyOf(e.Name), out var count) ? e with { StarCount = count } : e).ToList();
    }

    private static int Clamp(long value, int min, int max) => (int)Math.Clamp(value, min, max);
}
