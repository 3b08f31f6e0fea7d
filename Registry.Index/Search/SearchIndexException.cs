namespace Registry.Index.Search;

/// <summary>Why the search index database cannot be used.</summary>
public enum SearchIndexFailure
{
    /// <summary>Not an SQLite database, or a damaged one.</summary>
    Corrupt,

    /// <summary>Another process kept it locked for longer than the busy timeout.</summary>
    Locked,

    /// <summary>Its schema comes from a newer version of the registry.</summary>
    NewerVersion,

    /// <summary>The file cannot be opened or created (permissions, a directory in the way).</summary>
    CannotOpen,
}

/// <summary>
/// The search index database cannot be used. The message names the file and the way out.
/// </summary>
public sealed class SearchIndexException : Exception
{
    public SearchIndexException(string filePath, SearchIndexFailure failure, string message, Exception? inner = null)
        : base(message, inner)
    {
        FilePath = filePath;
        Failure = failure;
    }

    /// <summary>The database file concerned.</summary>
    public string FilePath { get; }

    /// <summary>What went wrong.</summary>
    public SearchIndexFailure Failure { get; }
}
