using System.Net.Http.Headers;
using System.Text.RegularExpressions;

namespace Registry.Tests.Web;

/// <summary>
/// A browser-like HTTP client for the web interface over any <see cref="HttpClient"/>: keeps the session cookie,
/// reads the CSRF token out of the last page and sends forms with it, never follows redirects itself.
/// </summary>
public sealed partial class UiClient(HttpClient http)
{
    /// <summary>A client of the in-process app with a cookie jar of its own (the app's shared client has one for all).</summary>
    public static UiClient For(Registry.Tests.Support.TestRegistry registry) =>
        new(new HttpClient(registry.CreateHandler()) { BaseAddress = new Uri("http://localhost") });

    public string? Cookie { get; private set; }
    public string? LastPage { get; private set; }

    public async Task<HttpResponseMessage> GetAsync(string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/html"));
        var response = await SendAsync(request);
        Remember(await response.Content.ReadAsStringAsync());
        return response;
    }

    /// <summary>The CSRF token of the last page that had a form.</summary>
    public string Csrf => _csrf ?? throw new InvalidOperationException("no page with a CSRF field was loaded");

    private string? _csrf;

    /// <summary>Posts the fields; with <paramref name="withCsrf"/> the last page's CSRF token is added.</summary>
    public async Task<HttpResponseMessage> PostAsync(string path, IEnumerable<KeyValuePair<string, string>> fields, bool withCsrf = true)
    {
        var all = fields.ToList();
        if (withCsrf) all.Add(new("_csrf", Csrf));
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new FormUrlEncodedContent(all) };
        var response = await SendAsync(request);
        Remember(await response.Content.ReadAsStringAsync());
        return response;
    }

    private void Remember(string page)
    {
        LastPage = page;
        if (CsrfPattern().Match(page) is { Success: true } m) _csrf = m.Groups[1].Value;
    }

    /// <summary>Loads the login page and posts the credentials; returns the answer to the POST.</summary>
    public async Task<HttpResponseMessage> LoginAsync(string user, string password)
    {
        (await GetAsync("/ui/login")).Dispose();
        return await PostAsync("/ui/login", [new("user", user), new("password", password), new("return", "/ui/")]);
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request)
    {
        if (Cookie is not null) request.Headers.Add("Cookie", Cookie);
        var response = await http.SendAsync(request);
        if (response.Headers.TryGetValues("Set-Cookie", out var cookies))
            foreach (var cookie in cookies.Where(c => c.StartsWith("registry_ui=", StringComparison.Ordinal)))
                Cookie = cookie.Split(';')[0];
        return response;
    }

    [GeneratedRegex("name=\"_csrf\" value=\"([^\"]+)\"")]
    private static partial Regex CsrfPattern();
}
