using System.Reflection;

namespace Registry.Bench.Http;

/// <summary>Starts the two servers under test: the bare-Kestrel baseline and the real registry.</summary>
internal static class ServerLauncher
{
    private static readonly string RegistryDllRelative = Path.Combine("Registry.V1", "bin", "Release", "net10.0", "Registry.V1.dll");

    /// <summary>Runs this very binary with the hidden baseline-server subcommand.</summary>
    public static Task<ChildServer> StartBaselineAsync(string dataDirectory, CancellationToken cancellationToken)
    {
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("cannot tell the path of this executable");
        var arguments = new List<string>();
        if (IsDotnetHost(self))
        {
            // Started as "dotnet Registry.Bench.dll": the child needs the dll too.
            arguments.Add(Assembly.GetEntryAssembly()!.Location);
        }

        arguments.AddRange([BaselineServer.Command, "--dir", dataDirectory]);
        return ChildServer.StartAsync(
            "baseline (bare Kestrel)",
            self,
            arguments,
            new Dictionary<string, string> { ["ASPNETCORE_ENVIRONMENT"] = "Production" },
            AppContext.BaseDirectory,
            BaselineServer.HelloPath,
            cancellationToken);
    }

    /// <summary>
    /// Runs "dotnet Registry.V1.dll" in the dev flavor on a private storage directory and search
    /// database under <paramref name="dataDirectory"/>; <paramref name="extraEnvironment"/> adds to or overrides it.
    /// </summary>
    public static Task<ChildServer> StartRegistryAsync(
        string dll, string dataDirectory, CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? extraEnvironment = null)
    {
        var storage = Path.Combine(dataDirectory, "storage");
        Directory.CreateDirectory(storage);
        var environment = new Dictionary<string, string>
        {
            ["SETTINGS_FLAVOR"] = "dev",
            ["STORAGE_PATH"] = storage,
            // "sqlite:///" followed by an absolute path, which starts with its own "/".
            ["SQLALCHEMY_INDEX_DATABASE"] = "sqlite:///" + Path.Combine(dataDirectory, "search.db"),
            ["LOGLEVEL"] = "warn",
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
        };
        foreach (var (name, value) in extraEnvironment ?? new Dictionary<string, string>()) environment[name] = value;
        return ChildServer.StartAsync(
            "registry (Registry.V1)",
            DotnetHost(),
            [dll],
            environment,
            Path.GetDirectoryName(dll)!,
            "/_ping",
            cancellationToken);
    }

    /// <summary>
    /// The --server-dll option, else Registry.V1's Release build found walking up from this
    /// binary; resolved before anything starts so that a wrong path fails at once.
    /// </summary>
    public static string ResolveRegistryDll(string? serverDll)
    {
        var dll = Path.GetFullPath(serverDll ?? FindRegistryDll());
        return File.Exists(dll) ? dll : throw new BenchUsageException($"registry server not found: {dll}");
    }

    private static string FindRegistryDll()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, RegistryDllRelative);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new BenchUsageException(
            $"{RegistryDllRelative} not found in any directory above {AppContext.BaseDirectory}; " +
            "build it with 'dotnet build -c Release Registry.V1' or pass --server-dll PATH");
    }

    private static string DotnetHost()
    {
        var self = Environment.ProcessPath;
        if (self is not null && IsDotnetHost(self))
        {
            return self;
        }

        // "dotnet run" and the SDK export the host they run under.
        return Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } hostPath && File.Exists(hostPath)
            ? hostPath
            : "dotnet";
    }

    private static bool IsDotnetHost(string path) =>
        Path.GetFileNameWithoutExtension(path).Equals("dotnet", StringComparison.OrdinalIgnoreCase);
}
