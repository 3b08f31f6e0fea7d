using Microsoft.Extensions.DependencyInjection;
using Registry.Core.Configuration;
using Registry.Index.Accounts;
using Registry.Index.Repositories;
using Registry.Index.Search;

namespace Registry.Index;

/// <summary>Registers the index: search, accounts, image membership, private search, the catalog, authentication and tokens.</summary>
public static class IndexServices
{
    /// <summary>
    /// Opens the index database's stores (before registration, so that a database that cannot be opened stops
    /// start-up with one line) and adds them with the services built on them. Needs <c>AddRegistryCore</c>.
    /// </summary>
    public static async Task<IServiceCollection> AddRegistryIndexAsync(this IServiceCollection services, RegistrySettings settings, CancellationToken ct)
    {
        var database = DatabasePath(settings);
        var search = await OpenSearchAsync(settings, database, ct);
        services.AddSingleton<ISearchIndex>(_ => search); // the container disposes it (its open read connections) at shutdown
        services.AddSingleton(await AccountStore.OpenAsync(database, ct));
        services.AddSingleton(await RepositoryImages.OpenAsync(database, ct));
        services.AddSingleton(await PrivateSearchIndex.OpenAsync(database, ct));
        services.AddSingleton<RepositoryCatalog>();
        services.AddSingleton<IndexImagesService>();
        services.AddSingleton<TokenService>();
        services.AddSingleton(new HtpasswdFile(settings.Auth.HtpasswdPath ?? Path.Combine(AppContext.BaseDirectory, "no-htpasswd-file")));
        services.AddSingleton<LoginThrottle>();
        services.AddSingleton<Authenticator>();
        services.AddSingleton<AccessPolicy>();
        services.AddSingleton<Core.Http.IAccessPolicy>(sp => sp.GetRequiredService<AccessPolicy>());
        return services;
    }

    /// <summary>
    /// The index database (search, accounts, image membership): one <c>sqlalchemy_index_database</c> setting names
    /// everything the index keeps. A URL of another engine stops start-up naming the key and its variable.
    /// </summary>
    public static string DatabasePath(RegistrySettings settings)
    {
        // A server URL usually carries a password: the line names the variable, not its value.
        var hasCredentials = settings.SearchDatabase.Contains('@', StringComparison.Ordinal);
        var scheme = settings.SearchDatabase.Split("://", 2) is [var head, _] ? head.Split('+')[0].Trim() : "";
        if (scheme.Equals("postgresql", StringComparison.OrdinalIgnoreCase) || scheme.Equals("postgres", StringComparison.OrdinalIgnoreCase))
        {
            throw settings.Error("sqlalchemy_index_database",
                "PostgreSQL is not supported yet; use SQLite: sqlite:////absolute/path.db, sqlite:///relative/path.db or a plain file path",
                hideValue: hasCredentials);
        }

        try
        {
            return SearchDatabaseLocation.Parse(settings.SearchDatabase, Directory.GetCurrentDirectory());
        }
        catch (ArgumentException e)
        {
            throw settings.Error("sqlalchemy_index_database", e.Message.Replace(" (Parameter 'value')", "", StringComparison.Ordinal), hideValue: hasCredentials);
        }
    }

    private static async Task<ISearchIndex> OpenSearchAsync(RegistrySettings settings, string database, CancellationToken ct)
    {
        if (!settings.SearchEnabled) return new NullSearchIndex();
        var index = await SqliteSearchIndex.OpenAsync(database, ct);
        index.CacheResults = settings.SearchResultCache;
        return index;
    }
}
