namespace Registry.Core.Configuration;

/// <summary>Loads <see cref="RegistrySettings"/> from the YAML config file (spec §8).</summary>
public static class ConfigLoader
{
    /// <summary>
    /// Loads the file named by <c>DOCKER_REGISTRY_CONFIG</c> (default: <paramref name="defaultFile"/>) and the
    /// flavor named by <c>SETTINGS_FLAVOR</c> (default <c>dev</c>), resolving <c>_env:</c> values against
    /// <paramref name="environment"/>. Throws <see cref="ConfigException"/> on any problem.
    /// </summary>
    public static RegistrySettings Load(IReadOnlyDictionary<string, string?> environment, string defaultFile, string workingDirectory)
    {
        // Placeholder until the loader lands: the dev defaults.
        _ = environment;
        return new RegistrySettings
        {
            SourceFile = Path.GetFullPath(defaultFile, workingDirectory),
            Flavor = "dev",
            Values = new Dictionary<string, object?>(),
            Issue = "\"docker-registry server\"",
            LogLevel = "debug",
            Debug = true,
            SearchBackend = "sqlalchemy",
            StoragePath = "/tmp/registry",
        };
    }
}
