namespace Registry.Index.Database.Postgres;

/// <summary>The search tables' layout beyond version 4 of <see cref="PostgresMigrations"/>.</summary>
internal static class PostgresSearchSchema
{
    /// <summary>
    /// Version 5. <c>sort_key</c> ascends in result order (star count descending as fixed-width hex of its
    /// complement, then the name by code point under COLLATE "C"), so that one column orders the rows and a
    /// position in a tier can be resumed from by value. The ordering index holds the rows in that order, so that
    /// a page of a frequent term is a walk that stops once the page is full; the partial one does the same for
    /// the described rows, the only ones a description-only match can be. The pattern-ops indexes answer the
    /// exact and prefix tiers by range. <c>search_generation</c> numbers the versions of the rows: a statement
    /// trigger bumps it in the transaction of every change, so a search that reads it in its snapshot knows
    /// whether counts it kept (in any instance's memory) are still exact. It starts at a random value so that a
    /// database recreated from scratch does not repeat generations an instance has seen.
    /// </summary>
    public const string Version5 = """
        ALTER TABLE search_repositories ADD COLUMN sort_key text COLLATE "C" NOT NULL
            GENERATED ALWAYS AS (lpad(to_hex(2147483647::bigint - star_count), 8, '0') || name) STORED;
        CREATE INDEX search_repositories_order ON search_repositories (sort_key) INCLUDE (name_lower, repo_lower);
        CREATE INDEX search_repositories_described_order ON search_repositories (sort_key) WHERE description_lower <> '';
        CREATE INDEX search_repositories_name_prefix ON search_repositories (name_lower text_pattern_ops);
        CREATE INDEX search_repositories_repo_prefix ON search_repositories (repo_lower text_pattern_ops);
        CREATE TABLE search_generation (
            id         integer PRIMARY KEY CHECK (id = 0),
            generation bigint NOT NULL
        );
        INSERT INTO search_generation (id, generation) VALUES (0, (random() * 4e18)::bigint);
        CREATE FUNCTION search_generation_bump() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE search_generation SET generation = generation + 1 WHERE id = 0;
            RETURN NULL;
        END $$;
        """ + Trigger;

    /// <summary>The trigger that bumps the generation, on the table named search_repositories (again after a rebuild swaps it in).</summary>
    public const string Trigger = """
        CREATE TRIGGER search_repositories_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON search_repositories
            FOR EACH STATEMENT EXECUTE FUNCTION search_generation_bump();
        """;

    /// <summary>
    /// Every index of the search table as of version 5, <c>{0}</c> standing for the table and <c>{1}</c> for a
    /// suffix of the index names: a rebuild loads a table of its own and indexes it after the rows are in
    /// (far cheaper than maintaining the trigram indexes row by row), then swaps it in under these names.
    /// </summary>
    public static readonly IReadOnlyList<(string Name, string Definition)> Indexes =
    [
        ("search_repositories_pkey", "ALTER TABLE {0} ADD CONSTRAINT search_repositories_pkey{1} PRIMARY KEY (name)"),
        ("search_repositories_name_trgm", "CREATE INDEX search_repositories_name_trgm{1} ON {0} USING gin (name_lower gin_trgm_ops)"),
        ("search_repositories_description_trgm", "CREATE INDEX search_repositories_description_trgm{1} ON {0} USING gin (description_lower gin_trgm_ops)"),
        ("search_repositories_order", "CREATE INDEX search_repositories_order{1} ON {0} (sort_key) INCLUDE (name_lower, repo_lower)"),
        ("search_repositories_described_order", "CREATE INDEX search_repositories_described_order{1} ON {0} (sort_key) WHERE description_lower <> ''"),
        ("search_repositories_name_prefix", "CREATE INDEX search_repositories_name_prefix{1} ON {0} (name_lower text_pattern_ops)"),
        ("search_repositories_repo_prefix", "CREATE INDEX search_repositories_repo_prefix{1} ON {0} (repo_lower text_pattern_ops)"),
    ];
}
