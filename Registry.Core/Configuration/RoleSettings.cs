using System.Security.Cryptography;

namespace Registry.Core.Configuration;

/// <summary>Which half of the V1 protocol an instance serves (docs/configuration.md, 'Split index and registry').</summary>
public enum ServerRole { Both, Index, Registry }

/// <summary>
/// The split of the original docker-registry into an index (accounts, image lists, tokens, search) and registries
/// (images, tags): <c>role</c>, what the index hands out in <c>X-Docker-Endpoints</c> (<c>registry_endpoints</c>),
/// how long a registry trusts the index's confirmation of a token (<c>index_token_cache_ttl</c>) and the key of
/// the index's signed requests (<c>privileged_key</c>). Read once by <see cref="ConfigLoader"/>; the key file is
/// read and parsed there so that a bad one stops start-up.
/// </summary>
public sealed record RoleSettings
{
    /// <summary>Default of <see cref="IndexTokenCacheTtl"/>, in seconds.</summary>
    public const long DefaultIndexTokenCacheSeconds = 60;

    public ServerRole Role { get; init; } = ServerRole.Both;

    /// <summary>The index routes (<c>/v1/users</c>, index repository routes, <c>/v1/search</c>) are served.</summary>
    public bool ServesIndex => Role != ServerRole.Registry;

    /// <summary>The registry routes (<c>/v1/images/…</c>, tags, repository json and properties, repository delete) are served.</summary>
    public bool ServesRegistry => Role != ServerRole.Index;

    /// <summary>host[:port] entries for <c>X-Docker-Endpoints</c>; empty means the Host header the client used.</summary>
    public IReadOnlyList<string> RegistryEndpoints { get; init; } = [];

    /// <summary>How long a token the index confirmed is trusted without asking again; zero asks every time.</summary>
    public TimeSpan IndexTokenCacheTtl { get; init; } = TimeSpan.FromSeconds(DefaultIndexTokenCacheSeconds);

    /// <summary>The PEM text of <c>privileged_key</c> (an RSA public key, PKCS#1 or SubjectPublicKeyInfo); null when unset.</summary>
    public string? PrivilegedKeyPem { get; init; }

    internal static RoleSettings Read(SettingsReader read, bool disableTokenAuth, bool authEnabled)
    {
        var role = read.Choice("role", ["both", "index", "registry"]) switch
        {
            "index" => ServerRole.Index,
            "registry" => ServerRole.Registry,
            _ => ServerRole.Both,
        };
        // The original's check_token asks index_endpoint for every token; without one and without accounts of our own
        // no request could ever pass the gate. Only a written `standalone: false` is refused: a file without the key
        // keeps today's meaning (index-backed, every gated route 401).
        if (read.Get("standalone") is false && !disableTokenAuth && !authEnabled && string.IsNullOrWhiteSpace(read.Text("index_endpoint")))
            throw read.Fail("index_endpoint", "required when standalone is false and authentication is off (the registry asks this index to confirm tokens)");
        return new RoleSettings
        {
            Role = role,
            RegistryEndpoints = Endpoints(read),
            IndexTokenCacheTtl = TimeSpan.FromSeconds(read.Integer("index_token_cache_ttl", DefaultIndexTokenCacheSeconds, 0, 86_400)),
            PrivilegedKeyPem = PrivilegedKey(read),
        };
    }

    /// <summary>A YAML list or a comma-separated string of host[:port] entries, as the client joins them to its scheme.</summary>
    private static IReadOnlyList<string> Endpoints(SettingsReader read)
    {
        var entries = read.Get("registry_endpoints") switch
        {
            null => [],
            string s => s.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries),
            IReadOnlyList<object?> list => list.Select(x => x as string ?? throw read.Fail("registry_endpoints",
                $"expected host[:port] strings, got {ConfigErrorContext.DescribeValue(x)}")).Select(x => x.Trim()).Where(x => x.Length > 0).ToArray(),
            var other => throw read.Fail("registry_endpoints", $"expected a list of host[:port] or a comma-separated string, got {ConfigErrorContext.DescribeValue(other)}"),
        };
        foreach (var entry in entries)
        {
            // docker 1.x builds "<scheme of the index>://<entry>/v1/" (Docker Registry and Index spec, 'X-Docker-Endpoints').
            if (entry.Contains("://", StringComparison.Ordinal) || entry.Contains('/') || entry.Any(char.IsWhiteSpace))
                throw read.Fail("registry_endpoints", $"\"{entry}\" is not host[:port] (no scheme, no path)");
        }
        return entries;
    }

    private static string? PrivilegedKey(SettingsReader read)
    {
        var path = read.Text("privileged_key");
        if (string.IsNullOrWhiteSpace(path)) return null;
        string pem;
        try
        {
            pem = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw read.Fail("privileged_key", $"the RSA public key cannot be read: {e.Message}");
        }
        using var rsa = RSA.Create();
        try
        {
            rsa.ImportFromPem(pem);
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            throw read.Fail("privileged_key", $"{path} is not an RSA public key in PEM form (BEGIN RSA PUBLIC KEY or BEGIN PUBLIC KEY): {e.Message}");
        }
        return pem;
    }
}
