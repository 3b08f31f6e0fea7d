using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Registry.Core.Configuration;
using Registry.Core.Http;
using Registry.Core.Names;

namespace Registry.V1.Mirroring;

/// <summary>Which upstream a request goes to: <c>mirroring.source</c> or <c>mirroring.source_index</c>.</summary>
public enum UpstreamRole { Registry, Index }

/// <summary>A small upstream answer read whole: the body and the headers a V1 client reads.</summary>
public sealed record UpstreamDocument(byte[] Body, HttpResponseHeaders Headers)
{
    public IEnumerable<string> Header(string name) => Headers.TryGetValues(name, out var values) ? values : [];
}

/// <summary>What an upstream GET came to: a value (200), nothing (404: the upstream does not have it) or a failure.</summary>
public readonly record struct UpstreamAnswer<T>(T? Value, UpstreamFailure? Failure) where T : class
{
    public bool NotFound => Value is null && Failure is null;
}

/// <summary>
/// The mirror's V1 client (Docker Registry HTTP API V1; Docker Registry and Index spec, 'Pull' and 'Tokens'): one
/// <see cref="HttpClient"/> per upstream, anonymous or with Basic credentials (the URL's, or <c>mirroring.username</c> and
/// <c>password</c>), and the index token flow
/// for a registry that refuses them: the index is asked for the repository's images with <c>X-Docker-Token: true</c>
/// and the token it returns goes to the registry as <c>Authorization: Token …</c>. Credentials never reach a log line
/// or an error body: both name <see cref="MirrorUrl.Display"/> only.
/// </summary>
public sealed class V1Upstream : IDisposable
{
    /// <summary>How long an upstream may take to answer with headers (and to send a small document).</summary>
    public static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(30);

    /// <summary>What a client is told to wait when the upstream is down or busy and said nothing itself.</summary>
    public static readonly TimeSpan DefaultRetryAfter = TimeSpan.FromSeconds(30);

    private readonly Endpoint? _registry;
    private readonly Endpoint? _index;
    private readonly long _maxDocumentBytes;
    private readonly ILogger<V1Upstream> _logger;
    private readonly ConcurrentDictionary<string, string> _tokens = new(StringComparer.Ordinal);
    private volatile string? _lastToken;

    public V1Upstream(RegistrySettings settings, ILogger<V1Upstream> logger)
    {
        _logger = logger;
        _maxDocumentBytes = settings.MaxJsonBodyBytes;
        if (settings.MirrorSource is not { } source) return;
        _registry = new Endpoint(new Uri(source), settings.MirrorCredentials);
        _index = settings.MirrorSourceIndex is { } index ? new Endpoint(new Uri(index), settings.MirrorCredentials) : _registry;
    }

    /// <summary>True when <c>mirroring.source</c> is set.</summary>
    public bool Enabled => _registry is not null;

    /// <summary>The upstream registry as error bodies name it.</summary>
    public string RegistryDisplay => Require(UpstreamRole.Registry).Display;

    /// <summary>A small document (json, ancestry, tags, an image list, search results).</summary>
    public async Task<UpstreamAnswer<UpstreamDocument>> GetDocumentAsync(
        UpstreamRole role, string pathAndQuery, RepositoryName? repository, CancellationToken ct)
    {
        var (response, failure) = await SendAsync(role, pathAndQuery, repository, ct);
        if (response is null) return new(null, failure);
        using (response)
        {
            var endpoint = Require(role);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(AnswerTimeout);
            try
            {
                if (response.Content.Headers.ContentLength > _maxDocumentBytes) return new(null, TooLarge(endpoint, pathAndQuery));
                await using var body = await response.Content.ReadAsStreamAsync(timeout.Token);
                using var copy = new MemoryStream();
                var buffer = new byte[16 * 1024];
                int n;
                while ((n = await body.ReadAsync(buffer, timeout.Token)) > 0)
                {
                    if (copy.Length + n > _maxDocumentBytes) return new(null, TooLarge(endpoint, pathAndQuery));
                    copy.Write(buffer, 0, n);
                }
                return new(new UpstreamDocument(copy.ToArray(), response.Headers), null);
            }
            catch (Exception e) when (IsTransportFailure(e, ct))
            {
                return new(null, Unreachable(endpoint, pathAndQuery, e));
            }
        }
    }

    /// <summary>A layer: the response once its headers arrived; the caller streams and disposes it.</summary>
    public async Task<UpstreamAnswer<HttpResponseMessage>> OpenAsync(string pathAndQuery, CancellationToken ct)
    {
        var (response, failure) = await SendAsync(UpstreamRole.Registry, pathAndQuery, null, ct);
        return new(response, failure);
    }

    /// <summary>True for the errors of a connection or a body cut short (not the caller's own cancellation).</summary>
    public static bool IsTransportFailure(Exception e, CancellationToken ct) =>
        e is HttpRequestException or IOException || (e is OperationCanceledException && !ct.IsCancellationRequested);

    /// <summary>The failure a broken upstream transfer is reported as (and logged once, without credentials).</summary>
    public UpstreamFailure Unreachable(UpstreamRole role, string pathAndQuery, Exception e) => Unreachable(Require(role), pathAndQuery, e);

    private async Task<(HttpResponseMessage? Response, UpstreamFailure? Failure)> SendAsync(
        UpstreamRole role, string pathAndQuery, RepositoryName? repository, CancellationToken ct)
    {
        var endpoint = Require(role);
        var token = role == UpstreamRole.Registry ? TokenFor(repository) : null;
        var (response, failure) = await SendOnceAsync(endpoint, pathAndQuery, role == UpstreamRole.Index, token, ct);
        if (response is { StatusCode: HttpStatusCode.Unauthorized } && role == UpstreamRole.Registry)
        {
            // The registry wants an index token (Docker Registry and Index spec, 'Tokens'): ask the index for one and retry.
            var fresh = repository is not null ? await FetchTokenAsync(repository, ct) : _lastToken;
            if (fresh is not null && fresh != token)
            {
                response.Dispose();
                (response, failure) = await SendOnceAsync(endpoint, pathAndQuery, false, fresh, ct);
            }
        }
        if (response is null) return (null, failure);
        // Only a 200 carries a token: a refusal's WWW-Authenticate is a challenge, not one.
        if (repository is not null && response.StatusCode == HttpStatusCode.OK && TokenOf(response) is { } given) Remember(repository, given);

        var status = (int)response.StatusCode;
        if (status == 200) return (response, null);
        var retryAfter = response.Headers.RetryAfter?.Delta;
        response.Dispose();
        if (status == 404) return (null, null);
        _logger.LogWarning("Mirror upstream {Upstream} answered {Status} to GET {Path}", endpoint.Display, status, pathAndQuery);
        return (null, status switch
        {
            401 or 403 => new UpstreamFailure($"Upstream {endpoint.Display} refused the mirror's credentials ({status})", false),
            429 or 503 => new UpstreamFailure($"Upstream {endpoint.Display} is unavailable ({status}), retry later", true, retryAfter ?? DefaultRetryAfter),
            _ => new UpstreamFailure($"Upstream {endpoint.Display} answered {status}", false),
        });
    }

    private async Task<(HttpResponseMessage? Response, UpstreamFailure? Failure)> SendOnceAsync(
        Endpoint endpoint, string pathAndQuery, bool askToken, string? token, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, endpoint.Url(pathAndQuery));
        if (token is not null) request.Headers.TryAddWithoutValidation("Authorization", token.StartsWith("Token ", StringComparison.Ordinal) ? token : "Token " + token);
        else if (endpoint.Basic is not null) request.Headers.Authorization = endpoint.Basic;
        if (askToken) request.Headers.Add("X-Docker-Token", "true");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(AnswerTimeout);
        try
        {
            return (await endpoint.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token), null);
        }
        catch (Exception e) when (IsTransportFailure(e, ct))
        {
            return (null, Unreachable(endpoint, pathAndQuery, e));
        }
    }

    /// <summary>Asks the index for a read token of <paramref name="repository"/>; null when it gives none.</summary>
    private async Task<string?> FetchTokenAsync(RepositoryName repository, CancellationToken ct)
    {
        var (response, _) = await SendOnceAsync(Require(UpstreamRole.Index), UpstreamPaths.IndexImages(repository), askToken: true, token: null, ct);
        using (response)
        {
            if (response is not { StatusCode: HttpStatusCode.OK } || TokenOf(response) is not { } value) return null;
            Remember(repository, value);
            return value;
        }
    }

    /// <summary>
    /// The index's token: <c>X-Docker-Token</c>, else the <c>WWW-Authenticate: Token …</c> challenge an index sends
    /// with it (Docker Registry and Index spec, 'Tokens'; some send only the challenge).
    /// </summary>
    private static string? TokenOf(HttpResponseMessage response)
    {
        if (response.Headers.TryGetValues("X-Docker-Token", out var tokens) && tokens.FirstOrDefault() is { Length: > 0 } token) return token;
        return response.Headers.WwwAuthenticate.FirstOrDefault(h => string.Equals(h.Scheme, "Token", StringComparison.OrdinalIgnoreCase))?.Parameter;
    }

    private void Remember(RepositoryName repository, string token)
    {
        _tokens[repository.FullName] = token;
        _lastToken = token;
    }

    // Image routes name no repository: the token of the repository pulled last covers the images it lists.
    private string? TokenFor(RepositoryName? repository) =>
        repository is not null ? _tokens.GetValueOrDefault(repository.FullName) : _lastToken;

    private UpstreamFailure Unreachable(Endpoint endpoint, string pathAndQuery, Exception e)
    {
        _logger.LogWarning("Mirror upstream {Upstream} failed on GET {Path}: {Error}", endpoint.Display, pathAndQuery, e.Message);
        return new UpstreamFailure($"Upstream {endpoint.Display} is unreachable, retry later", true, DefaultRetryAfter);
    }

    private UpstreamFailure TooLarge(Endpoint endpoint, string pathAndQuery)
    {
        _logger.LogWarning("Mirror upstream {Upstream} sent more than {Max} bytes for GET {Path}", endpoint.Display, _maxDocumentBytes, pathAndQuery);
        return new UpstreamFailure($"Upstream {endpoint.Display} sent a document larger than {_maxDocumentBytes} bytes", false);
    }

    /// <summary>An upstream answer this mirror cannot use (bad JSON, a wrong id).</summary>
    public UpstreamFailure Invalid(UpstreamRole role, string what)
    {
        var endpoint = Require(role);
        _logger.LogWarning("Mirror upstream {Upstream} sent an invalid {What}", endpoint.Display, what);
        return new UpstreamFailure($"Upstream {endpoint.Display} sent an invalid {what}", false);
    }

    private Endpoint Require(UpstreamRole role) =>
        (role == UpstreamRole.Registry ? _registry : _index) ?? throw new InvalidOperationException("mirroring.source is not set");

    public void Dispose()
    {
        _registry?.Client.Dispose();
        if (!ReferenceEquals(_index, _registry)) _index?.Client.Dispose();
    }

    /// <summary>One upstream: its URL without credentials, the Basic header they make, and its own connection pool.</summary>
    private sealed class Endpoint
    {
        public Endpoint(Uri url, MirrorCredentials? credentials)
        {
            Display = MirrorUrl.Display(url);
            _base = Display;
            if (url.UserInfo.Length > 0)
            {
                var parts = url.UserInfo.Split(':', 2);
                var user = Uri.UnescapeDataString(parts[0]);
                var password = parts.Length > 1 ? Uri.UnescapeDataString(parts[1]) : "";
                Basic = BasicHeader(user, password);
            }
            else if (credentials is not null) Basic = BasicHeader(credentials.Username, credentials.Password);
            Client = new HttpClient(new SocketsHttpHandler
            {
                ConnectTimeout = TimeSpan.FromSeconds(10),
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                AutomaticDecompression = DecompressionMethods.None,
                AllowAutoRedirect = true,
            })
            { Timeout = Timeout.InfiniteTimeSpan };
        }

        private readonly string _base;

        public string Display { get; }
        public AuthenticationHeaderValue? Basic { get; }
        public HttpClient Client { get; }

        public Uri Url(string pathAndQuery) => new(_base + pathAndQuery);

        private static AuthenticationHeaderValue BasicHeader(string user, string password) =>
            new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));
    }
}

/// <summary>The upstream paths the mirror asks for (Docker Registry HTTP API V1), each name component escaped.</summary>
public static class UpstreamPaths
{
    public static string Repository(RepositoryName name) =>
        $"/v1/repositories/{Uri.EscapeDataString(name.Namespace)}/{Uri.EscapeDataString(name.Repository)}";

    public static string IndexImages(RepositoryName name) => Repository(name) + "/images";
    public static string Tags(RepositoryName name) => Repository(name) + "/tags";
    public static string RepositoryJson(RepositoryName name) => Repository(name) + "/json";
    public static string ImageJson(ImageId id) => $"/v1/images/{id.Value}/json";
    public static string ImageAncestry(ImageId id) => $"/v1/images/{id.Value}/ancestry";
    public static string ImageLayer(ImageId id) => $"/v1/images/{id.Value}/layer";
}
