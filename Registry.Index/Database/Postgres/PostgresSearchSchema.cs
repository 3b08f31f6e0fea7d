namespace Registry.Index.Database.Postgres;

/// <summary>The search tables' layout beyond version 4 of <see cref="PostgresMigrations"/>.</summary>
internal static class PostgresSearchSchema
{
    /// <summary>
    /// Version 5. The ordering index holds the rows in result order (star count descending, then name by code
    /// point), so that a page of a frequent term is a walk that stops once the page is full; the partial one
    /// does the same for the described rows, the only ones a description-only match can be. The pattern-ops
    /// indexes answer the exact and prefix tiers by range. <c>search_generation</c> numbers the versions of the
    /// rows: a statement trigger bumps it in the transaction of every change, so a search that reads it in its
    /// snapshot knows whether counts it kept (in any instance's memory) are still exact. It starts at a random
    /// value so that a database recreated from scratch does not repeat generations an instance has seen.
    /// </summary>
    public const string Version5 = """
        CREATE INDEX search_repositories_order ON search_repositories (star_count DESC, name COLLATE "C")
            INCLUDE (name_lower, repo_lower);
        CREATE INDEX search_repositories_described_order ON search_repositories (star_count DESC, name COLLATE "C")
            WHERE description_lower <> '';
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
        CREATE TRIGGER search_repositories_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON search_repositories
            FOR EACH STATEMENT EXECUTE FUNCTION search_generation_bump();
        """;
}
