using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Registry.Core.Configuration;

namespace Registry.Index.Accounts;

public enum SignatureCheck { Absent, Valid, Invalid }

/// <summary>
/// Requests the index signs with its private key (<c>X-Signature</c>), checked against <c>privileged_key</c> as the
/// original docker-registry's <c>check_signature</c> does: the message is <c>METHOD,PATH</c> followed by
/// <c>,Name:Value</c> for each request header whose Title-Case name starts with <c>X-Docker</c>, sorted by name; the
/// signature is RSASSA-PKCS1-v1_5 over its SHA-1. Unlike the original, which falls through to the token check, a
/// signature that does not verify is refused: a request that claims to be the index's and is not is an attack.
/// </summary>
public sealed class PrivilegedSignature : IDisposable
{
    private readonly RSA? _key;
    private readonly Lock _gate = new();

    public PrivilegedSignature(RegistrySettings settings)
    {
        if (settings.Roles.PrivilegedKeyPem is not { } pem) return;
        _key = RSA.Create();
        _key.ImportFromPem(pem);
    }

    public SignatureCheck Check(HttpContext context)
    {
        var request = context.Request;
        if (_key is null || !request.Headers.TryGetValue("X-Signature", out var header)) return SignatureCheck.Absent;
        var data = Fields(header.ToString()).GetValueOrDefault("data");
        if (data is null) return SignatureCheck.Invalid;
        byte[] signature;
        try
        {
            signature = Convert.FromBase64String(data);
        }
        catch (FormatException)
        {
            return SignatureCheck.Invalid;
        }
        var message = Encoding.UTF8.GetBytes(Message(context));
        // An RSA instance is not documented as safe for concurrent use.
        lock (_gate)
            return _key.VerifyData(message, signature, HashAlgorithmName.SHA1, RSASignaturePadding.Pkcs1) ? SignatureCheck.Valid : SignatureCheck.Invalid;
    }

    public void Dispose() => _key?.Dispose();

    /// <summary>The signed text; the path is percent-decoded (as the original's WSGI server gives it), without the query.</summary>
    public static string Message(HttpContext context)
    {
        var request = context.Request;
        var target = context.Features.Get<IHttpRequestFeature>()?.RawTarget is { Length: > 0 } raw ? raw : (request.PathBase + request.Path).ToString();
        var query = target.IndexOf('?', StringComparison.Ordinal);
        var path = Uri.UnescapeDataString(query >= 0 ? target[..query] : target);
        var parts = new List<string> { request.Method, path };
        foreach (var (name, value) in request.Headers
                     .Select(h => (Name: TitleCase(h.Key), Value: h.Value.ToString()))
                     .Where(h => h.Name.StartsWith("X-Docker", StringComparison.Ordinal))
                     .OrderBy(h => h.Name, StringComparer.Ordinal))
            parts.Add($"{name}:{value}");
        return string.Join(',', parts);
    }

    /// <summary>The <c>;</c>-separated <c>key=value</c> pairs of the header, each split at its first <c>=</c>.</summary>
    private static Dictionary<string, string> Fields(string header)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in header.Split(';'))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0) fields.TryAdd(pair[..eq].Trim(), pair[(eq + 1)..].Trim());
        }
        return fields;
    }

    /// <summary>Header names as the original's framework spelled them (Python's <c>str.title</c>): a letter after a non-letter is upper case, others lower.</summary>
    private static string TitleCase(string name)
    {
        var chars = name.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
            chars[i] = i == 0 || !char.IsLetter(chars[i - 1]) ? char.ToUpperInvariant(chars[i]) : char.ToLowerInvariant(chars[i]);
        return new string(chars);
    }
}
