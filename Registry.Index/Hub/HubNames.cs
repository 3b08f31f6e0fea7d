using Registry.Core.Names;

namespace Registry.Index.Hub;

/// <summary>How the Hub's repository names meet the search rows' (<see cref="Search.RepositoryCatalog"/>).</summary>
public static class HubNames
{
    /// <summary>
    /// The search rows whose <c>star_count</c> counts the stars of <paramref name="repository"/> (a logical
    /// "namespace/repository"): itself, and for a <c>library/</c> name also the one-part name a v2 client pushes.
    /// Both are returned, the same name twice when there is no one-part form, so that a query takes two parameters.
    /// </summary>
    public static (string Name, string OnePart) SearchRowsOf(string repository)
    {
        var prefix = RepositoryName.DefaultNamespace + "/";
        return (repository, repository.StartsWith(prefix, StringComparison.Ordinal) ? repository[prefix.Length..] : repository);
    }

    /// <summary>The stars table's name for a search row's name (a one-part v2 name is a <c>library/</c> repository).</summary>
    public static string StarKeyOf(string searchName) => RepositoryName.FromLogical(searchName).FullName;
}
