using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace Registry.Index.Accounts.Bearer;

/// <summary>
/// One entry of a token's <c>access</c> claim, or of a requested scope (Docker Registry v2 Token Authentication
/// Specification, 'Requesting a Token'; Token Scope Documentation): a resource type, its name and the actions on it.
/// </summary>
public sealed partial record ResourceAccess(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("actions")] IReadOnlyList<string> Actions)
{
    public const string Repository = "repository";
    public const string Registry = "registry";

    /// <summary>The text of a challenge's <c>scope</c> (<c>repository:foo:pull,push</c>).</summary>
    public override string ToString() => $"{Type}:{Name}:{string.Join(',', Actions)}";

    /// <summary>
    /// Parses <c>scope</c> values, each one or several space-separated scopes
    /// <c>type[(class)]:name:action[,action]</c>. The name is everything between the first and the last colon, so
    /// that <c>host:port/name</c> survives; the class is dropped. Null when a scope is malformed.
    /// </summary>
    public static IReadOnlyList<ResourceAccess>? ParseScopes(IEnumerable<string?> values)
    {
        var scopes = new List<ResourceAccess>();
        foreach (var value in values)
        {
            foreach (var scope in (value ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                var first = scope.IndexOf(':');
                var last = scope.LastIndexOf(':');
                if (first <= 0 || last == first || last == scope.Length - 1) return null;
                var type = TypePattern().Match(scope[..first]);
                var actions = scope[(last + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries);
                if (!type.Success || actions.Length == 0 || !actions.All(a => ActionPattern().IsMatch(a))) return null;
                scopes.Add(new ResourceAccess(type.Groups[1].Value, scope[(first + 1)..last], actions));
            }
        }
        return scopes;
    }

    /// <summary>Merges entries of the same resource, keeping each action once in the order first seen.</summary>
    public static IReadOnlyList<ResourceAccess> Merge(IEnumerable<ResourceAccess> entries) =>
        entries.GroupBy(e => (e.Type, e.Name))
            .Select(g => new ResourceAccess(g.Key.Type, g.Key.Name, g.SelectMany(e => e.Actions).Distinct(StringComparer.Ordinal).ToArray()))
            .Where(e => e.Actions.Count > 0)
            .ToArray();

    [GeneratedRegex(@"\A([a-z0-9]+)(?:\([a-z0-9]+\))?\z", RegexOptions.CultureInvariant)]
    private static partial Regex TypePattern();

    [GeneratedRegex(@"\A(?:[a-z]+|\*)\z", RegexOptions.CultureInvariant)]
    private static partial Regex ActionPattern();
}
