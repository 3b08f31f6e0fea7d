using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Registry.Core.Configuration;
using Registry.Core.Names;

namespace Registry.Index.Accounts;

/// <summary>
/// Issues the index's tokens and the headers that carry them (spec §3.7, §6.1). In standalone mode a token is
/// a 16-character random signature that nobody checks, as in the original; the security issue hardens this one
/// service into signed tokens.
/// </summary>
public sealed class TokenService(RegistrySettings settings)
{
    private const string SignatureAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

    public string Issue(RepositoryName repository, string access)
    {
        var signature = RandomNumberGenerator.GetString(SignatureAlphabet, 16);
        return $"Token signature={signature},repository=\"{repository.FullName}\",access={access}";
    }

    /// <summary>Adds <c>X-Docker-Token</c>, <c>WWW-Authenticate</c> and <c>X-Docker-Endpoints</c> to the response.</summary>
    public void AddTokenHeaders(HttpContext context, RepositoryName repository, string access)
    {
        var token = Issue(repository, access);
        var headers = context.Response.Headers;
        headers["X-Docker-Token"] = token;
        headers.WWWAuthenticate = token;
        headers["X-Docker-Endpoints"] = Endpoints(context.Request);
    }

    /// <summary>The <c>registry_endpoints</c> setting, else the Host the client addressed (host[:port]).</summary>
    public string Endpoints(HttpRequest request) =>
        !string.IsNullOrWhiteSpace(settings.RegistryEndpoints) ? settings.RegistryEndpoints : request.Host.Value ?? "";
}
