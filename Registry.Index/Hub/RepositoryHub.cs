using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Registry.Core.Configuration;
using Registry.Core.Http;
using Registry.Core.Names;
using Registry.Core.Storage;
using Registry.Index.Accounts;
using Registry.Index.Search;

namespace Registry.Index.Hub;

public enum HubStatus { Ok, Unauthenticated, NotFound, Forbidden, BadRequest }

/// <summary>
/// What a Hub call gave: <see cref="HubStatus.Ok"/> with its value, or a refusal with the message to show. A refusal
/// of <see cref="HubStatus.Unauthenticated"/> is answered with a challenge.
/// </summary>
public sealed record HubResult<T>(HubStatus Status, T? Value = default, string? Error = null)
{
    public static HubResult<T> Ok(T value) => new(HubStatus.Ok, value);

    public static HubResult<T> Refused(HubStatus status, string error) => new(status, default, error);
}

/// <summary>A 1-based page of <see cref="Size"/> items.</summary>
public sealed record HubPageRequest(int Page, int Size)
{
    public const int DefaultSize = 25;
    public const int MaxSize = 100;

    public long Offset => (long)(Page - 1) * Size;
}

/// <summary>One repository as the Hub pages show it; <see cref="Starred"/> says whether the caller starred it.</summary>
public sealed record RepositorySummary(string Name, string Description, long StarCount, long CommentCount, bool IsPrivate, bool Starred);

/// <summary>
/// Stars, stargazers, comments and the repository summary (issue 16, 'Hub API'; README, 'Stars, comments and
/// descriptions'): the rules, over <see cref="IHubStore"/>. Who may see a repository is <see cref="AccessPolicy"/>'s
/// read rule; a repository the caller may not read is "not found", exactly as one that does not exist, so that a
/// private repository is never confirmed. Starring and commenting need a user: with authentication off there is
/// none, so they are refused as unauthenticated. Callers other than the HTTP module (the web pages) pass the
/// <see cref="Principal"/> they authenticated.
/// </summary>
public sealed class RepositoryHub(
    IHubStore store, AuthSettings auth, Authenticator authenticator, AccessPolicy policy, RepositoryCatalog catalog, IStorageDriver storage)
{
    /// <summary>The longest comment accepted, after trimming.</summary>
    public const int MaxCommentLength = 4000;

    /// <summary>
    /// The caller of an HTTP request: anonymous when authentication is off; with it on, null (and the refusal to send)
    /// for wrong credentials or a throttled address, as the access gate answers them.
    /// </summary>
    public async Task<(Principal? Caller, AccessDecision? Refusal)> CallerAsync(HttpContext http, CancellationToken ct)
    {
        if (!auth.Enabled) return (Principal.Anonymous, null);
        var principal = await authenticator.AuthenticateAsync(http, ct);
        return principal.Kind switch
        {
            PrincipalKind.Throttled => (null, new AccessDecision(429, "Too many failed logins from this address, retry later", RetryAfter: principal.RetryAfter)),
            PrincipalKind.BadCredentials => (null, new AccessDecision(401, "Invalid credentials", Challenge)),
            _ => (principal, null),
        };
    }

    /// <summary>The <c>WWW-Authenticate</c> challenge of a refusal as unauthenticated.</summary>
    public string Challenge => $"Basic realm=\"{auth.Realm}\"";

    /// <summary>Stars (<paramref name="star"/>) or unstars the repository; both are idempotent.</summary>
    public async Task<HubResult<bool>> SetStarAsync(Principal caller, RepositoryName repository, bool star, CancellationToken ct)
    {
        if (UserOf(caller) is not { } user) return HubResult<bool>.Refused(HubStatus.Unauthenticated, "Authentication required to star");
        if (await FindAsync(caller, repository, ct) is { } refusal) return HubResult<bool>.Refused(refusal.Status, refusal.Error!);
        var changed = star ? await store.StarAsync(repository.FullName, user, ct) : await store.UnstarAsync(repository.FullName, user, ct);
        return HubResult<bool>.Ok(changed);
    }

    public async Task<HubResult<HubPage<RepositoryStar>>> StargazersAsync(Principal caller, RepositoryName repository, HubPageRequest page, CancellationToken ct)
    {
        if (await FindAsync(caller, repository, ct) is { } refusal) return HubResult<HubPage<RepositoryStar>>.Refused(refusal.Status, refusal.Error!);
        return HubResult<HubPage<RepositoryStar>>.Ok(await store.StargazersAsync(repository.FullName, page.Offset, page.Size, ct));
    }

    /// <summary>
    /// The repositories <paramref name="user"/> starred, without the private ones the caller may not read. An unknown
    /// user has starred nothing (the list is empty, as for a user without stars).
    /// </summary>
    public async Task<HubResult<HubPage<RepositoryStar>>> StarredAsync(Principal caller, string user, HubPageRequest page, CancellationToken ct)
    {
        if (auth.Enabled && caller.Kind == PrincipalKind.Anonymous && !auth.AnonymousRead)
            return HubResult<HubPage<RepositoryStar>>.Refused(HubStatus.Unauthenticated, "Authentication required");
        return HubResult<HubPage<RepositoryStar>>.Ok(await store.StarredAsync(user, VisibilityOf(caller), page.Offset, page.Size, ct));
    }

    public async Task<HubResult<HubPage<RepositoryComment>>> CommentsAsync(Principal caller, RepositoryName repository, HubPageRequest page, CancellationToken ct)
    {
        if (await FindAsync(caller, repository, ct) is { } refusal) return HubResult<HubPage<RepositoryComment>>.Refused(refusal.Status, refusal.Error!);
        return HubResult<HubPage<RepositoryComment>>.Ok(await store.CommentsAsync(repository.FullName, page.Offset, page.Size, ct));
    }

    /// <summary>Adds the comment of a JSON body <c>{"comment": "..."}</c>.</summary>
    public async Task<HubResult<RepositoryComment>> AddCommentAsync(Principal caller, RepositoryName repository, byte[] body, CancellationToken ct)
    {
        string? text;
        using (var document = JsonBody.TryParse(body))
        {
            text = document is { RootElement.ValueKind: JsonValueKind.Object } && document.RootElement.TryGetProperty("comment", out var value)
                && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
        }
        return await AddCommentAsync(caller, repository, text, ct);
    }

    /// <summary>Adds a comment (null: the body did not carry one).</summary>
    public async Task<HubResult<RepositoryComment>> AddCommentAsync(Principal caller, RepositoryName repository, string? text, CancellationToken ct)
    {
        if (UserOf(caller) is not { } user) return HubResult<RepositoryComment>.Refused(HubStatus.Unauthenticated, "Authentication required to comment");
        if (await FindAsync(caller, repository, ct) is { } refusal) return HubResult<RepositoryComment>.Refused(refusal.Status, refusal.Error!);
        if (text is null) return HubResult<RepositoryComment>.Refused(HubStatus.BadRequest, "Error Decoding JSON: expected {\"comment\": \"...\"}");
        if (CommentProblem(text.Trim()) is { } problem) return HubResult<RepositoryComment>.Refused(HubStatus.BadRequest, problem);
        return HubResult<RepositoryComment>.Ok(await store.AddCommentAsync(repository.FullName, user, text.Trim(), ct));
    }

    /// <summary>Removes a comment: its author or an admin may. <paramref name="id"/> is the id as the path carries it.</summary>
    public async Task<HubResult<bool>> RemoveCommentAsync(Principal caller, RepositoryName repository, string id, CancellationToken ct)
    {
        if (UserOf(caller) is null) return HubResult<bool>.Refused(HubStatus.Unauthenticated, "Authentication required to delete a comment");
        if (await FindAsync(caller, repository, ct) is { } refusal) return HubResult<bool>.Refused(refusal.Status, refusal.Error!);
        if (!long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
            return HubResult<bool>.Refused(HubStatus.BadRequest, "Invalid comment id");
        if (await store.GetCommentAsync(repository.FullName, number, ct) is not { } comment)
            return HubResult<bool>.Refused(HubStatus.NotFound, "Comment not found");
        if (comment.User != UserOf(caller) && !policy.IsAdmin(caller))
            return HubResult<bool>.Refused(HubStatus.Forbidden, "Only the comment's author or an admin may delete it");
        return HubResult<bool>.Ok(await store.RemoveCommentAsync(repository.FullName, number, ct));
    }

    /// <summary>The repository's name, description (from storage), star and comment counts, privacy and the caller's star.</summary>
    public async Task<HubResult<RepositorySummary>> SummaryAsync(Principal caller, RepositoryName repository, CancellationToken ct)
    {
        if (await FindAsync(caller, repository, ct) is { } refusal) return HubResult<RepositorySummary>.Refused(refusal.Status, refusal.Error!);
        var (stars, comments) = await store.CountsAsync(repository.FullName, ct);
        var starred = UserOf(caller) is { } user && await store.HasStarredAsync(repository.FullName, user, ct);
        return HubResult<RepositorySummary>.Ok(new RepositorySummary(repository.FullName, await catalog.ReadDescriptionAsync(repository, ct),
            stars, comments, await storage.ExistsAsync(StoragePaths.Private(repository), ct), starred));
    }

    /// <summary>
    /// Reads <c>page</c> (1-based, default 1) and <c>n</c> (1 to <see cref="HubPageRequest.MaxSize"/>, default
    /// <see cref="HubPageRequest.DefaultSize"/>); null and the problem when either is not such a number.
    /// </summary>
    public static HubPageRequest? ParsePage(string? page, string? n, out string? problem)
    {
        problem = null;
        var number = 1;
        var size = HubPageRequest.DefaultSize;
        if (!string.IsNullOrEmpty(page) && (!int.TryParse(page, NumberStyles.None, CultureInfo.InvariantCulture, out number) || number < 1))
            problem = "page must be a whole number from 1";
        else if (!string.IsNullOrEmpty(n) && (!int.TryParse(n, NumberStyles.None, CultureInfo.InvariantCulture, out size) || size < 1 || size > HubPageRequest.MaxSize))
            problem = $"n must be a whole number from 1 to {HubPageRequest.MaxSize}";
        return problem is null ? new HubPageRequest(number, size) : null;
    }

    /// <summary>Why a comment (trimmed) is refused; null when it is accepted. Line breaks and tabs are text, other controls are not.</summary>
    private static string? CommentProblem(string text)
    {
        if (text.Length == 0) return "comment must not be empty";
        if (text.Length > MaxCommentLength) return $"comment is longer than {MaxCommentLength} characters";
        foreach (var c in text)
            if (char.IsControl(c) && c is not ('\n' or '\r' or '\t')) return "comment must not contain control characters";
        return null;
    }

    /// <summary>
    /// Null when the caller may read the repository and it exists. Anonymous callers of a registry without anonymous
    /// reads are refused as unauthenticated whatever the name; otherwise a repository the caller may not read is
    /// not found, as one that does not exist.
    /// </summary>
    private async Task<HubResult<bool>?> FindAsync(Principal caller, RepositoryName repository, CancellationToken ct)
    {
        if (auth.Enabled)
        {
            if (caller.Kind == PrincipalKind.Anonymous && !auth.AnonymousRead)
                return HubResult<bool>.Refused(HubStatus.Unauthenticated, "Authentication required");
            if (!await policy.CanReadAsync(caller, repository, ct)) return NotFound;
        }
        return await catalog.HoldsAsync(repository, ct) ? null : NotFound;
    }

    private static readonly HubResult<bool> NotFound = HubResult<bool>.Refused(HubStatus.NotFound, "Repository not found");

    /// <summary>The user a star or comment is recorded for: a user who logged in (a signed token's user too).</summary>
    private static string? UserOf(Principal caller) =>
        caller.Kind is PrincipalKind.User or PrincipalKind.Token && !string.IsNullOrEmpty(caller.User) ? caller.User : null;

    private PrivateVisibility VisibilityOf(Principal caller) =>
        !auth.Enabled || policy.IsAdmin(caller) ? PrivateVisibility.Everything
        : caller.Kind == PrincipalKind.User ? new PrivateVisibility(false, caller.User)
        : PrivateVisibility.None;
}
