using NUnit.Framework;
using Registry.Core.Configuration;

namespace Registry.Tests.Support;

/// <summary>A temp folder per test for config files, and loaders that point at it.</summary>
public abstract class ConfigTestBase
{
    protected string TempDir { get; private set; } = "";

    /// <summary>The shipped config_sample.yml at the repository root (the folder holding Registry.sln).</summary>
    protected static string SampleFile { get; } = FindSample();

    [SetUp]
    public void CreateTempDir() => TempDir = Directory.CreateTempSubdirectory("registry-config-").FullName;

    [TearDown]
    public void DeleteTempDir() => Directory.Delete(TempDir, recursive: true);

    protected string WriteFile(string yaml, string name = "config.yml")
    {
        var path = Path.Combine(TempDir, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, yaml);
        return path;
    }

    protected static Dictionary<string, string?> Env(params (string Name, string? Value)[] variables) =>
        variables.ToDictionary(v => v.Name, v => v.Value);

    /// <summary>Loads <paramref name="yaml"/> as the whole document (SETTINGS_FLAVOR="") plus the given variables.</summary>
    protected RegistrySettings LoadWhole(string yaml, params (string Name, string? Value)[] variables)
    {
        var env = Env(variables);
        env["SETTINGS_FLAVOR"] = "";
        return ConfigLoader.Load(env, WriteFile(yaml), TempDir);
    }

    protected RegistrySettings LoadFlavor(string yaml, string flavor, params (string Name, string? Value)[] variables)
    {
        var env = Env(variables);
        env["SETTINGS_FLAVOR"] = flavor;
        return ConfigLoader.Load(env, WriteFile(yaml), TempDir);
    }

    protected RegistrySettings LoadSample(params (string Name, string? Value)[] variables) =>
        ConfigLoader.Load(Env(variables), SampleFile, TempDir);

    /// <summary>The one start-up line for a bad value of <paramref name="key"/> set through <paramref name="variable"/> in the sample's dev flavor.</summary>
    protected static string SampleError(string key, string variable, string value, string problem) =>
        $"config error in {SampleFile}, flavor \"dev\", key \"{key}\" (from ${variable}=\"{value}\"): {problem}";

    protected static IReadOnlyDictionary<string, object?> Map(object? value) =>
        value as IReadOnlyDictionary<string, object?> ?? throw new AssertionException($"expected a map, got {value ?? "null"}");

    protected static IReadOnlyList<object?> List(object? value) =>
        value as IReadOnlyList<object?> ?? throw new AssertionException($"expected a list, got {value ?? "null"}");

    private static string FindSample()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Registry.sln")))
            {
                return Path.Combine(dir.FullName, "config_sample.yml");
            }
        }

        throw new InvalidOperationException("Registry.sln not found above the test directory");
    }
}
