using Registry.Index.Accounts;
using Registry.Tests.Support;

namespace Registry.Tests.V2.Proxy;

/// <summary>
/// An instance of this registry (a real child process) behind htpasswd that only <see cref="User"/> (an admin) may
/// read: the upstream a mirror reaches with the credentials of its <c>proxy:</c> section.
/// </summary>
internal sealed class ProtectedUpstream : IAsyncDisposable
{
    public const string User = "mirror";
    public const string Password = "m1rror-pass";

    private readonly string _root;

    private ProtectedUpstream(string root, RegistryProcess process)
    {
        _root = root;
        Process = process;
    }

    public RegistryProcess Process { get; }

    public static async Task<ProtectedUpstream> StartAsync()
    {
        var root = Directory.CreateTempSubdirectory("registry-upstream-").FullName;
        var htpasswd = Path.Combine(root, "htpasswd");
        await File.WriteAllLinesAsync(htpasswd, [HtpasswdFile.Line(User, Password)]);
        var process = await RegistryProcess.StartAsync(new Dictionary<string, string?>
        {
            ["REGISTRY_AUTH"] = "htpasswd",
            ["REGISTRY_AUTH_HTPASSWD_PATH"] = htpasswd,
            ["REGISTRY_AUTH_ANONYMOUS_READ"] = "false",
            ["REGISTRY_AUTH_ADMINS"] = User,
        });
        return new ProtectedUpstream(root, process);
    }

    public async ValueTask DisposeAsync()
    {
        await Process.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }
}
