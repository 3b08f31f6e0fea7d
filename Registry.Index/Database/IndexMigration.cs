using System.Data.Common;

namespace Registry.Index.Database;

/// <summary>
/// One step of an engine's schema: it brings the database from <see cref="Version"/> - 1 to
/// <see cref="Version"/>, inside the transaction the engine's migrator opened. An engine keeps one ordered
/// list of them for the whole database (accounts, image membership, private repositories, search) and
/// records the version reached in <see cref="IndexMigration.VersionTable"/>.
/// </summary>
public sealed record IndexMigration<TConnection, TTransaction>(
    int Version, string Description, Func<TConnection, TTransaction, CancellationToken, Task> ApplyAsync)
    where TConnection : DbConnection
    where TTransaction : DbTransaction
{
    /// <summary>Checks that <paramref name="migrations"/> are versions 1, 2, ... n in order, and returns them.</summary>
    public static IReadOnlyList<IndexMigration<TConnection, TTransaction>> Ordered(
        params IndexMigration<TConnection, TTransaction>[] migrations)
    {
        for (var i = 0; i < migrations.Length; i++)
        {
            if (migrations[i].Version != i + 1)
            {
                throw new InvalidOperationException(
                    $"Index database migration '{migrations[i].Description}' has version {migrations[i].Version}, expected {i + 1}.");
            }
        }

        return migrations;
    }
}

/// <summary>What every engine's schema shares.</summary>
public static class IndexMigration
{
    /// <summary>The table holding the schema version: one row, id 0.</summary>
    public const string VersionTable = "registry_schema_version";
}
