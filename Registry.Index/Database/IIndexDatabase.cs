using Registry.Index.Accounts;
using Registry.Index.Search;

namespace Registry.Index.Database;

/// <summary>
/// The index database (the <c>sqlalchemy_index_database</c> setting) of one engine, opened and migrated to
/// its latest schema: the stores the services use. Each engine is one folder (<c>Database/Sqlite/</c>) whose
/// stores pass the contract fixtures of the tests.
/// </summary>
public interface IIndexDatabase
{
    /// <summary>Where the database is, for messages (a file path for SQLite).</summary>
    string Location { get; }

    IAccountStore Accounts { get; }

    IRepositoryImages Images { get; }

    IPrivateRepositories PrivateRepositories { get; }

    Webhooks.IRepositoryWebhooks Webhooks { get; }

    /// <summary>Stars and comments of repositories.</summary>
    Hub.IHubStore Hub { get; }
    IAccessTokenStore AccessTokens { get; }
    /// <summary>The token server's refresh tokens (<c>auth.token_server</c>).</summary>
    Accounts.Bearer.IRefreshTokens RefreshTokens { get; }

    /// <summary>The names <c>GET /v2/_catalog</c> lists, when it is served from the index (<see cref="DistributionCatalog"/>).</summary>
    IDistributionNames DistributionNames { get; }

    /// <summary>
    /// The repository search index over the same database; <paramref name="cacheResults"/> serves repeated
    /// searches from a cache that is never stale. The caller disposes it when it is disposable.
    /// </summary>
    Task<ISearchIndex> OpenSearchIndexAsync(bool cacheResults, CancellationToken ct);

    /// <summary>
    /// Returns when the database answers a query now (for the readiness check); a server that cannot be reached
    /// throws <see cref="IndexUnavailableException"/>, a broken file the engine's error.
    /// </summary>
    Task PingAsync(CancellationToken ct);
}
