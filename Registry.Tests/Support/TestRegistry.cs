using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Registry.Core.Storage;
using Registry.Index.Search;
using Registry.V1.Hosting;

namespace Registry.Tests.Support;

/// <summary>
/// The real app in-process (WebApplicationFactory) on the dev flavor, with its own temp storage directory
/// and temp SQLite search database. Extra environment variables override the process environment.
/// </summary>
public sealed class TestRegistry : IAsyncDisposable
{
    private readonly WebApplicationFactory<Program> _factory;

    private TestRegistry(string root, IReadOnlyDictionary<string, string> env)
    {
        Root = root;
        StorageRoot = Path.Combine(root, "storage");
        DatabasePath = Path.Combine(root, "search.db");
        var settings = new Dictionary<string, string>
        {
            ["SETTINGS_FLAVOR"] = "dev",
            ["STORAGE_PATH"] = StorageRoot,
            ["SQLALCHEMY_INDEX_DATABASE"] = "sqlite:///" + DatabasePath,
            ["LOGLEVEL"] = "warn",
        };
        foreach (var (k, v) in env) settings[k] = v;
        _factory = new WebApplicationFactory<Program>().WithWebHostBuilder(b =>
        {
            foreach (var (k, v) in settings) b.UseSetting($"{RegistryApp.EnvironmentOverrides}:{k}", v);
        });
        Client = _factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
    }

    public string Root { get; }
    public string StorageRoot { get; }
    public string DatabasePath { get; }
    public HttpClient Client { get; }
    public IServiceProvider Services => _factory.Services;
    public IStorageDriver Storage => Services.GetRequiredService<IStorageDriver>();
    public ISearchIndex Search => Services.GetRequiredService<ISearchIndex>();

    /// <summary>A handler into the in-process server, for clients that add their own headers.</summary>
    public HttpMessageHandler CreateHandler() => _factory.Server.CreateHandler();

    /// <summary>Starts an app on a fresh temp directory; <paramref name="root"/> reuses an existing one.</summary>
    public static TestRegistry Start(IReadOnlyDictionary<string, string>? env = null, string? root = null)
    {
        root ??= Path.Combine(Path.GetTempPath(), "registry-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        return new TestRegistry(root, env ?? new Dictionary<string, string>());
    }

    /// <summary>
    /// Starts an app with htpasswd auth (realm "Test Realm") for <paramref name="users"/> ("name:password" each),
    /// the file in the app's temp directory; <paramref name="env"/> adds or overrides variables.
    /// </summary>
    public static TestRegistry StartWithHtpasswd(IEnumerable<string> users, IReadOnlyDictionary<string, string>? env = null)
    {
        var root = Path.Combine(Path.GetTempPath(), "registry-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        var htpasswd = Path.Combine(root, "htpasswd");
        File.WriteAllLines(htpasswd, users.Select(u => u.Split(':', 2)).Select(p => Registry.Index.Accounts.HtpasswdFile.Line(p[0], p[1])));
        var all = new Dictionary<string, string>
        {
            ["REGISTRY_AUTH"] = "htpasswd",
            ["REGISTRY_AUTH_HTPASSWD_PATH"] = htpasswd,
            ["REGISTRY_AUTH_HTPASSWD_REALM"] = "Test Realm",
        };
        foreach (var (name, value) in env ?? new Dictionary<string, string>()) all[name] = value;
        return new TestRegistry(root, all);
    }

    /// <summary>A Basic <c>Authorization</c> header value.</summary>
    public static System.Net.Http.Headers.AuthenticationHeaderValue Basic(string user, string password) =>
        new("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{user}:{password}")));

    /// <summary>Stops the app but keeps its directory (for restart tests).</summary>
    public async ValueTask StopAsync()
    {
        Client.Dispose();
        await _factory.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open by a finishing request; the temp folder is cleaned by the OS eventually.
        }
    }
}
