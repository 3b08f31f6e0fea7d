using Microsoft.Extensions.DependencyInjection;
using Registry.Core.Configuration;
using Registry.Index.Accounts;
using Registry.Index.Accounts.Bearer;
using Registry.Index.Database;
using Registry.Index.Database.Postgres;
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
        var database = await IndexDatabase.OpenAsync(settings, ct);
        var search = settings.SearchEnabled ? await database.OpenSearchIndexAsync(settings.SearchResultCache, ct) : new NullSearchIndex();
        services.AddSingleton(database);
        services.AddSingleton<ISearchIndex>(_ => search); // the container disposes it (its open read connections) at shutdown
        services.AddSingleton(database.Accounts);
        services.AddSingleton(database.Images);
        services.AddSingleton(database.PrivateRepositories);
        services.AddSingleton(database.Webhooks);
        services.AddSingleton<Webhooks.WebhookService>();
        services.AddSingleton<Webhooks.WebhookPublisher>();
        services.AddSingleton(database.Hub);
        services.AddSingleton<Hub.RepositoryHub>();
        services.AddSingleton<DistributionCatalog>();
        services.AddSingleton<RepositoryCatalog>();
        services.AddSingleton<StorageFollower>();
        services.AddHostedService(sp => sp.GetRequiredService<StorageFollower>());
        services.AddSingleton<IndexImagesService>();
        services.AddSingleton<MembershipRebuild>();
        services.AddSingleton<TokenService>();
        services.AddSingleton(database.AccessTokens);
        services.AddSingleton<AccessTokenService>();
        services.AddSingleton<Modules.AccessTokensModule.Caller>();
        services.AddSingleton(new HtpasswdFile(settings.Auth.HtpasswdPath ?? Path.Combine(AppContext.BaseDirectory, "no-htpasswd-file")));
        // Several instances share a PostgreSQL index database: their locks, collector and throttle go through it too.
        if (database is PostgresIndexDatabase postgres) PostgresCoordination.Register(services, postgres, settings.Auth);
        else services.AddSingleton<ILoginThrottle, LoginThrottle>();
        if (settings.Auth.Ldap is { } ldap) services.AddSingleton(sp => new LdapDirectory(ldap, sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<LdapDirectory>>()));
        AddBearerTokens(services, settings, database);
        services.AddSingleton<Authenticator>();
        services.AddSingleton<IndexTokenValidator>();
        services.AddSingleton<PrivilegedSignature>();
        services.AddSingleton<AccessPolicy>();
        services.AddSingleton<Core.Http.IAccessPolicy>(sp => sp.GetRequiredService<AccessPolicy>());
        services.AddSingleton<IUpstreamSearch, NullUpstreamSearch>();
        services.AddSingleton<IUpstreamImageLists, NullUpstreamImageLists>();
        services.AddSingleton<SearchService>();
        services.AddSingleton<UserService>();
        return services;
    }

    /// <summary>
    /// The token server's keys, grants and refresh tokens, and the external issuer's keys; a configured signing key
    /// or issuer file that cannot be used stops start-up with one line naming its key.
    /// </summary>
    private static void AddBearerTokens(IServiceCollection services, RegistrySettings settings, IIndexDatabase database)
    {
        var token = settings.Auth.Token;
        if (token.Server && token.KeyPath is not null && TokenSigningKeys.LoadConfigured(token).Error is { } error)
            throw settings.Error("auth.token_key", error);
        if (token.External is { } external)
        {
            try
            {
                services.AddSingleton(new ExternalIssuerKeys(external));
            }
            catch (Exception e) when (e is IOException or System.Security.Cryptography.CryptographicException or ArgumentException or InvalidDataException)
            {
                var key = external.RootCertBundle is not null ? "auth.token.rootcertbundle" : "auth.token.jwks";
                throw settings.Error(key, $"cannot be read: {e.Message.ReplaceLineEndings(" ")}");
            }
        }
        services.AddSingleton<TokenSigningKeys>();
        services.AddSingleton<BearerTokens>();
        services.AddSingleton<TokenGrants>();
        services.AddSingleton(database.RefreshTokens);
        services.AddSingleton<RefreshTokenService>();
    }
}
