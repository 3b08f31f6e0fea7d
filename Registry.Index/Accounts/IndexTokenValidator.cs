using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Registry.Core.Configuration;
using Registry.Core.Http;

namespace Registry.Index.Accounts;

/// <summary>What asking the index about a request's token gave: a principal to decide with, or a refusal to answer.</summary>
public sealed record IndexTokenOutcome(Principal? Principal, AccessDecision? Refusal);

/// <summary>
/// The registry half of a split deployment (docs/configuration.md, 'Split index and registry'): a <c>Token …</c>
/// that this server did not sign is confirmed by the index at <c>index_endpoint</c>, as the original
/// docker-registry's <c>validate_token</c> does: <c>GET &lt;index_endpoint&gt;/v1/repositories/&lt;ns&gt;/&lt;repo&gt;/images</c>
/// with the client's <c>Authorization</c> header; a 200 with an image list means the token is good. Like the
/// original, which kept that list as the repository's <c>_images_list</c> and checked image uploads against it, the
/// list is kept with the confirmation (in memory, for <c>index_token_cache_ttl</c>) and bounds the images the token
/// reaches. The index's 401 and 403 are passed on; an index that does not answer, answers 5xx or an unreadable
/// list is a 503: the token may be good, retry later.
/// </summary>
public sealed class IndexTokenValidator(RegistrySettings settings, AuthSettings auth, TokenService tokens, ILogger<IndexTokenValidator> logger, TimeProvider? time = null) : IDisposable
{
    private const int MaxCachedTokens = 10_000;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ConcurrentDictionary<string, (IReadOnlySet<string> Images, DateTimeOffset Until)> _confirmed = new(StringComparer.Ordinal);
    private readonly HttpClient _client = new(new SocketsHttpHandler
    {
        ConnectTimeout = Timeout,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        AllowAutoRedirect = false,
    })
    {
        Timeout = Timeout,
        // The same bound as the image lists the index itself accepts; a larger answer fails as an unreadable one.
        MaxResponseContentBufferSize = settings.MaxJsonBodyBytes,
    };

    /// <summary>Null when the index is not asked: standalone, no <c>index_endpoint</c>, no token, or a token this server signed.</summary>
    public async Task<IndexTokenOutcome?> ValidateAsync(HttpContext context, CancellationToken ct)
    {
        if (settings.Standalone || settings.DisableTokenAuth || string.IsNullOrWhiteSpace(settings.IndexEndpoint)) return null;
        var header = context.Request.Headers.Authorization.ToString().Trim();
        if (!header.StartsWith("Token ", StringComparison.OrdinalIgnoreCase)) return null;
        if (auth.Enabled && ParsedToken.Parse(header) is { } own && await tokens.VerifyAsync(own, ct) is not null) return null;

        // The original's validate_token refuses a token whose repository is not "<ns>/<repo>" without asking.
        if (ParsedToken.ParseForeign(header) is not { } token || token.Repository.Split('/') is not [{ Length: > 0 } ns, { Length: > 0 } repo])
            return Refused(401, AccessGate.RequiresAuthorization);

        var key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(header)));
        var now = _time.GetUtcNow();
        if (_confirmed.TryGetValue(key, out var hit) && hit.Until > now) return Confirmed(context, token, hit.Images);

        var url = $"{settings.IndexEndpoint}/v1/repositories/{Uri.EscapeDataString(ns)}/{Uri.EscapeDataString(repo)}/images";
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.TryAddWithoutValidation("Authorization", header);
        HttpResponseMessage response;
        try
        {
            response = await _client.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct);
        }
        catch (Exception e) when (e is HttpRequestException || (e is TaskCanceledException && !ct.IsCancellationRequested))
        {
            logger.LogWarning("The index at {Index} did not answer a token check: {Error}", settings.IndexEndpoint, e.Message);
            return Unavailable();
        }
        using (response)
        {
            switch (response.StatusCode)
            {
                case HttpStatusCode.OK:
                    break;
                case HttpStatusCode.Forbidden:
                    return Refused(403, "The index refused the token");
                case >= HttpStatusCode.InternalServerError:
                    logger.LogWarning("The index at {Index} answered {Status} to a token check", settings.IndexEndpoint, (int)response.StatusCode);
                    return Unavailable();
                default:
                    // The original fails the gate on any answer but 200.
                    return Refused(401, AccessGate.RequiresAuthorization);
            }
            if (ImageIds(await response.Content.ReadAsByteArrayAsync(ct)) is not { } images)
            {
                logger.LogWarning("The index at {Index} answered a token check with an unreadable image list", settings.IndexEndpoint);
                return Unavailable();
            }
            if (settings.Roles.IndexTokenCacheTtl > TimeSpan.Zero) Remember(key, images, now);
            return Confirmed(context, token, images);
        }
    }

    public void Dispose() => _client.Dispose();

    private void Remember(string key, IReadOnlySet<string> images, DateTimeOffset now)
    {
        if (_confirmed.Count >= MaxCachedTokens)
        {
            foreach (var (k, v) in _confirmed)
                if (v.Until <= now) _confirmed.TryRemove(k, out _);
            if (_confirmed.Count >= MaxCachedTokens) _confirmed.Clear();
        }
        _confirmed[key] = (images, now.Add(settings.Roles.IndexTokenCacheTtl));
    }

    private static IndexTokenOutcome Confirmed(HttpContext context, ParsedToken token, IReadOnlySet<string> images)
    {
        var principal = new Principal(PrincipalKind.Token, Token: token, IndexImages: images);
        context.Items[Authenticator.PrincipalItem] = principal;
        return new IndexTokenOutcome(principal, null);
    }

    /// <summary>The ids of a JSON array of objects with an <c>id</c> (the index's image list); null when it is not one.</summary>
    private static HashSet<string>? ImageIds(byte[] body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.ValueKind != JsonValueKind.Array) return null;
            var ids = new HashSet<string>(StringComparer.Ordinal);
            foreach (var entry in doc.RootElement.EnumerateArray())
            {
                if (entry.ValueKind != JsonValueKind.Object || !entry.TryGetProperty("id", out var id) || id.ValueKind != JsonValueKind.String) return null;
                ids.Add(id.GetString()!);
            }
            return ids;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static IndexTokenOutcome Refused(int status, string message) =>
        new(null, new AccessDecision(status, message, status == 401 ? "Token" : null));

    private static IndexTokenOutcome Unavailable() =>
        new(null, new AccessDecision(503, "The index that confirms tokens is unavailable, retry later"));
}
