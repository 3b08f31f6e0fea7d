using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Registry.Core.Configuration;
using Registry.Core.Http;

namespace Registry.V2.Proxy;

/// <summary>An upstream request that could not be made or answered; the message names the upstream, never credentials.</summary>
public sealed class UpstreamUnavailableException(UpstreamFailure failure, Exception? inner = null) : Exception(failure.Message, inner)
{
    public UpstreamFailure Failure { get; } = failure;
}

/// <summary>
/// The HTTP client of one upstream registry (one connection pool each). Authenticates as the docker client does
/// (Docker Registry HTTP API V2, 'Authentication'; the docker token authentication specification, 'Requesting a
/// Token'): anonymous first; a 401 with a <c>Bearer</c> challenge gets a token from the realm (with the configured
/// credentials as Basic, when there are any) for the repository's pull scope and the request is retried; a
/// <c>Basic</c> challenge is answered with the credentials. Tokens are reused per scope until shortly before they expire.
/// </summary>
public sealed class UpstreamClient : IDisposable
{
    /// <summary>How long the upstream may take to answer with headers (the body is timed per read by the callers).</summary>
    public static readonly TimeSpan HeadersTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The lifetime the token specification assumes when a token response has no <c>expires_in</c>.</summary>
    private static readonly TimeSpan DefaultTokenLifetime = TimeSpan.FromSeconds(60);

    private readonly HttpClient _http;
    private readonly ConcurrentDictionary<string, (string Token, DateTimeOffset Until)> _tokens = new(StringComparer.Ordinal);
    private volatile bool _basic;

    public UpstreamClient(ProxyUpstream upstream)
    {
        Upstream = upstream;
        _http = new HttpClient(new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(10),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
            AutomaticDecompression = DecompressionMethods.None,
            AllowAutoRedirect = true,
            MaxAutomaticRedirections = 5,
        })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("docker-registry-mirror/1.0");
    }

    public ProxyUpstream Upstream { get; }

    /// <summary>
    /// Sends <paramref name="method"/> to <c>/v2/&lt;repository&gt;/&lt;suffix&gt;</c> with the given <c>Accept</c> values and
    /// returns once the headers arrived (the body is not read). Any status is returned, 401 included when
    /// authentication failed; a request that could not be made throws <see cref="UpstreamUnavailableException"/>.
    /// </summary>
    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string repository, string suffix, IReadOnlyList<string> accept, CancellationToken ct)
    {
        var scope = $"repository:{repository}:pull";
        var uri = new Uri($"{Upstream.Url}/v2/{repository}/{suffix}");
        for (var attempt = 0; ; attempt++)
        {
            using var request = new HttpRequestMessage(method, uri);
            foreach (var value in accept) request.Headers.Accept.TryParseAdd(value);
            if (_tokens.TryGetValue(scope, out var cached) && cached.Until > DateTimeOffset.UtcNow)
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", cached.Token);
            else if (_basic && BasicCredentials() is { } basic)
                request.Headers.Authorization = basic;

            var response = await SendRawAsync(request, ct);
            if (response.StatusCode != HttpStatusCode.Unauthorized || attempt > 0) return response;
            if (!await AnswerChallengeAsync(response, scope, ct)) return response;
            response.Dispose();
        }
    }

    /// <summary>True when the 401's challenge could be answered (a token fetched, or Basic credentials to send).</summary>
    private async Task<bool> AnswerChallengeAsync(HttpResponseMessage response, string scope, CancellationToken ct)
    {
        foreach (var challenge in response.Headers.WwwAuthenticate)
        {
            if (string.Equals(challenge.Scheme, "Basic", StringComparison.OrdinalIgnoreCase))
            {
                if (!Upstream.HasCredentials) return false;
                _basic = true;
                return true;
            }
            if (string.Equals(challenge.Scheme, "Bearer", StringComparison.OrdinalIgnoreCase))
            {
                var parameters = ParseChallenge(challenge.Parameter ?? "");
                if (!parameters.TryGetValue("realm", out var realm)) return false;
                var token = await FetchTokenAsync(realm, parameters.GetValueOrDefault("service"), scope, ct);
                if (token is null) return false;
                _tokens[scope] = token.Value;
                return true;
            }
        }
        return false;
    }

    /// <summary>The docker token specification's GET of the realm; null when the token server refuses us.</summary>
    private async Task<(string Token, DateTimeOffset Until)?> FetchTokenAsync(string realm, string? service, string scope, CancellationToken ct)
    {
        var query = new StringBuilder();
        if (service is not null) query.Append("service=").Append(Uri.EscapeDataString(service)).Append('&');
        query.Append("scope=").Append(Uri.EscapeDataString(scope));
        if (!Uri.TryCreate(realm + (realm.Contains('?') ? "&" : "?") + query, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw new UpstreamUnavailableException(new UpstreamFailure($"upstream registry {Upstream.Url} named an unusable token realm {realm}", false));

        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        if (BasicCredentials() is { } basic) request.Headers.Authorization = basic;
        using var response = await SendRawAsync(request, ct);
        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden) return null;
        if (!response.IsSuccessStatusCode)
            throw new UpstreamUnavailableException(StatusFailure($"the token server {uri.GetLeftPart(UriPartial.Path)} of upstream registry {Upstream.Url}", response));
        try
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            cts.CancelAfter(HeadersTimeout);
            using var json = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cts.Token), default, cts.Token);
            var root = json.RootElement;
            var token = root.TryGetProperty("token", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()
                : root.TryGetProperty("access_token", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString() : null;
            if (string.IsNullOrEmpty(token)) return null;
            var lifetime = root.TryGetProperty("expires_in", out var e) && e.TryGetInt32(out var seconds) && seconds > 0
                ? TimeSpan.FromSeconds(seconds)
                : DefaultTokenLifetime;
            // Renewed a little early: a token that expires in flight would fail a long blob download's retry.
            var margin = TimeSpan.FromSeconds(Math.Min(30, lifetime.TotalSeconds / 10));
            return (token, DateTimeOffset.UtcNow + lifetime - margin);
        }
        catch (Exception e) when (e is JsonException or IOException or HttpRequestException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            throw new UpstreamUnavailableException(new UpstreamFailure($"the token server of upstream registry {Upstream.Url} sent no usable token: {e.Message}", true), e);
        }
    }

    private AuthenticationHeaderValue? BasicCredentials() => Upstream.HasCredentials
        ? new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Upstream.Username}:{Upstream.Password}")))
        : null;

    private async Task<HttpResponseMessage> SendRawAsync(HttpRequestMessage request, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(HeadersTimeout);
        try
        {
            return await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        }
        catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw new UpstreamUnavailableException(new UpstreamFailure($"upstream registry {Upstream.Url} did not answer within {HeadersTimeout.TotalSeconds} s", true), e);
        }
        catch (HttpRequestException e)
        {
            var reason = e.InnerException is SocketException socket ? socket.Message : e.Message;
            throw new UpstreamUnavailableException(new UpstreamFailure($"upstream registry {Upstream.Url} is unreachable: {reason}", true), e);
        }
    }

    /// <summary>The failure for an upstream status that is neither success, 404 nor an answered challenge.</summary>
    public UpstreamFailure StatusFailure(HttpResponseMessage response) => StatusFailure($"upstream registry {Upstream.Url}", response);

    private UpstreamFailure StatusFailure(string who, HttpResponseMessage response)
    {
        var status = (int)response.StatusCode;
        var retryAfter = response.Headers.RetryAfter?.Delta;
        return status switch
        {
            401 or 403 => new UpstreamFailure(Upstream.HasCredentials
                ? $"{who} refused the configured credentials ({status} {response.ReasonPhrase})"
                : $"{who} requires credentials ({status} {response.ReasonPhrase}); set username and password for it", false),
            429 or 503 => new UpstreamFailure($"{who} answered {status} {response.ReasonPhrase}", true, retryAfter),
            _ => new UpstreamFailure($"{who} answered {status} {response.ReasonPhrase}", false),
        };
    }

    /// <summary>The auth-params of a challenge (<c>realm="...",service="...",scope="..."</c>), quoted or not.</summary>
    internal static Dictionary<string, string> ParseChallenge(string parameter)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var i = 0;
        while (i < parameter.Length)
        {
            while (i < parameter.Length && (parameter[i] == ',' || char.IsWhiteSpace(parameter[i]))) i++;
            var eq = parameter.IndexOf('=', i);
            if (eq < 0) break;
            var key = parameter[i..eq].Trim();
            i = eq + 1;
            var value = new StringBuilder();
            if (i < parameter.Length && parameter[i] == '"')
            {
                for (i++; i < parameter.Length && parameter[i] != '"'; i++)
                {
                    if (parameter[i] == '\\' && i + 1 < parameter.Length) i++;
                    value.Append(parameter[i]);
                }
                i++;
            }
            else
            {
                while (i < parameter.Length && parameter[i] != ',') value.Append(parameter[i++]);
            }
            result[key] = value.ToString().Trim();
        }
        return result;
    }

    public void Dispose() => _http.Dispose();
}
