namespace Registry.Core.Configuration;

/// <summary>
/// A key of the Python registry's file format that this server parses but does not implement, set to a
/// non-empty value by the flavor. <see cref="Refuses"/>: serving without it would mislead (start-up stops);
/// otherwise the registry still does what the user expects and start-up logs <see cref="Message"/> as a warning.
/// </summary>
public sealed record UnimplementedSetting(string Key, bool Refuses, string Message)
{
    /// <summary>The keys that start a feature, what serving without the feature means, and whether that misleads.</summary>
    private static readonly (string Key, bool Refuses, string Problem)[] Features =
    [
        ("bugsnag", false, "Bugsnag error reporting is not implemented by this server; errors go to the log only"),
    ];

    internal static IReadOnlyList<UnimplementedSetting> Find(SettingsReader read)
    {
        var found = new List<UnimplementedSetting>();
        foreach (var (key, refuses, problem) in Features)
        {
            if (IsSet(read.Get(key))) found.Add(Describe(read, key, refuses, problem));
        }

        return found;
    }

    private static UnimplementedSetting Describe(SettingsReader read, string key, bool refuses, string problem) =>
        new(key, refuses, read.Context.Line(refuses ? "config error" : "config warning", key, read.SourceOf(key), problem));

    private static bool IsSet(object? value) => value switch
    {
        null or false => false,
        string s => s.Trim().Length > 0,
        IReadOnlyDictionary<string, object?> map => map.Count > 0,
        IReadOnlyList<object?> list => list.Count > 0,
        _ => true,
    };
}
