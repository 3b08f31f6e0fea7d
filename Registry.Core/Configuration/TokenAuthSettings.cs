namespace Registry.Core.Configuration;

/// <summary>
/// Bearer tokens of the Docker Registry v2 Token Authentication Specification (docs/configuration.md, 'Bearer
/// tokens'): either this server issues them (<see cref="Server"/>, on top of the account backend) or another token
/// server does (<see cref="External"/>, <c>auth.backend: token</c>, our accounts not consulted).
/// </summary>
public sealed record TokenAuthSettings
{
    /// <summary>Algorithms that verify tokens of other issuers when <c>auth.token.signingalgorithms</c> is unset.</summary>
    public static readonly IReadOnlyList<string> AsymmetricAlgorithms = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512"];

    /// <summary><c>auth.token_server</c>: <c>/v2/token</c> is served and every v2 challenge is Bearer.</summary>
    public bool Server { get; init; }

    /// <summary>The <c>service</c> of challenges and the <c>aud</c> of tokens (<c>auth.token_service</c> or <c>auth.token.service</c>).</summary>
    public string Service { get; init; } = System.Net.Dns.GetHostName();

    /// <summary><c>auth.token_signing_algorithm</c>: RS256 or ES256.</summary>
    public string SigningAlgorithm { get; init; } = "RS256";

    /// <summary><c>auth.token_key</c> and <c>auth.token_certificate</c>: PEM files; both null means a key generated and kept in storage.</summary>
    public string? KeyPath { get; init; }

    public string? CertificatePath { get; init; }

    /// <summary>The other token server whose tokens are accepted (<c>auth.backend: token</c>); null otherwise.</summary>
    public ExternalTokenIssuer? External { get; init; }

    internal static TokenAuthSettings Read(SettingsReader read, string workingDirectory, string? backend, bool accounts)
    {
        var server = read.Boolean("auth.token_server") ?? false;
        if (server && !accounts)
            throw read.Fail("auth.token_server", "needs an account backend (auth.backend: htpasswd)");
        var algorithm = read.Choice("auth.token_signing_algorithm", ["RS256", "ES256"])?.ToUpperInvariant() ?? "RS256";
        var key = FilePath(read, "auth.token_key", workingDirectory);
        var certificate = FilePath(read, "auth.token_certificate", workingDirectory);
        if ((key is null) != (certificate is null))
            throw read.Fail(key is null ? "auth.token_key" : "auth.token_certificate", "auth.token_key and auth.token_certificate go together");

        var external = backend == "token" ? ExternalTokenIssuer.Read(read, workingDirectory) : null;
        var service = external?.Service
            ?? (read.Text("auth.token_service") is { Length: > 0 } configured ? configured : System.Net.Dns.GetHostName());
        return new TokenAuthSettings
        {
            Server = server,
            Service = service,
            SigningAlgorithm = algorithm,
            KeyPath = key,
            CertificatePath = certificate,
            External = external,
        };
    }

    internal static string? FilePath(SettingsReader read, string key, string workingDirectory)
    {
        var text = read.Get(key)?.ToString();
        if (string.IsNullOrEmpty(text)) return null;
        var path = Path.GetFullPath(text, workingDirectory);
        return File.Exists(path) ? path : throw read.Fail(key, $"the file {path} does not exist");
    }
}

/// <summary>
/// <c>auth.token</c>: the Go registry's names for the token server it trusts (distribution's configuration
/// reference, 'token'). Tokens are verified by their <c>x5c</c> chain to <see cref="RootCertBundle"/> or by their
/// <c>kid</c> in <see cref="Jwks"/> (or a certificate of the bundle).
/// </summary>
public sealed record ExternalTokenIssuer(
    string Realm, string Service, string Issuer, string? RootCertBundle, string? Jwks, IReadOnlySet<string> SigningAlgorithms)
{
    internal static ExternalTokenIssuer Read(SettingsReader read, string workingDirectory)
    {
        var section = read.Get("auth.token") switch
        {
            null => new Dictionary<string, object?>(),
            IReadOnlyDictionary<string, object?> map => map,
            var other => throw read.Fail("auth.token", $"expected a map of settings, got {ConfigErrorContext.DescribeValue(other)}"),
        };
        string Required(string name) => section.GetValueOrDefault(name)?.ToString() is { Length: > 0 } value
            ? value
            : throw read.Fail($"auth.token.{name}", "required when auth.backend is token");
        string? File(string name)
        {
            if (section.GetValueOrDefault(name)?.ToString() is not { Length: > 0 } text) return null;
            var path = Path.GetFullPath(text, workingDirectory);
            return System.IO.File.Exists(path) ? path : throw read.Fail($"auth.token.{name}", $"the file {path} does not exist");
        }

        var realm = Required("realm");
        if (!Uri.TryCreate(realm, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw read.Fail("auth.token.realm", $"expected an http(s) URL, got \"{realm}\"");
        var service = Required("service");
        var issuer = Required("issuer");
        var bundle = File("rootcertbundle");
        var jwks = File("jwks");
        if (bundle is null && jwks is null)
            throw read.Fail("auth.token.rootcertbundle", "required (or auth.token.jwks) when auth.backend is token");
        return new ExternalTokenIssuer(realm, service, issuer, bundle, jwks, Algorithms(read, section.GetValueOrDefault("signingalgorithms")));
    }

    private static HashSet<string> Algorithms(SettingsReader read, object? value)
    {
        var names = value switch
        {
            null => TokenAuthSettings.AsymmetricAlgorithms,
            string s => s.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries),
            IEnumerable<object?> list => list.Select(x => x?.ToString() ?? "").ToArray(),
            var other => throw read.Fail("auth.token.signingalgorithms", $"expected a list, got {ConfigErrorContext.DescribeValue(other)}"),
        };
        var set = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in names)
        {
            var known = TokenAuthSettings.AsymmetricAlgorithms.FirstOrDefault(a => string.Equals(a, name, StringComparison.OrdinalIgnoreCase))
                ?? throw read.Fail("auth.token.signingalgorithms", $"\"{name}\" is not allowed; allowed: {string.Join(", ", TokenAuthSettings.AsymmetricAlgorithms)}");
            set.Add(known);
        }
        return set.Count > 0 ? set : throw read.Fail("auth.token.signingalgorithms", "names no algorithm");
    }
}
