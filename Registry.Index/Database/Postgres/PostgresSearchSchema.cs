namespace Registry.Index.Database.Postgres;

/// <summary>The search tables' layout beyond version 4 of <see cref="PostgresMigrations"/> (versions 5, 7 and 8).</summary>
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

    /// <summary>Version 5's trigger that bumps the generation (replaced by <see cref="Triggers"/> in version 7).</summary>
    public const string Trigger = """
        CREATE TRIGGER search_repositories_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON search_repositories
            FOR EACH STATEMENT EXECUTE FUNCTION search_generation_bump();
        """;

    /// <summary>
    /// Version 7. Every change to the rows, by any instance, is logged with the generation it makes:
    /// <c>search_changes</c> holds each row as it was (sign -1) and as it is (sign +1), lower-cased as searches
    /// see it, so that an instance holding counts of an older generation brings them up to date by re-testing the
    /// changed rows instead of recounting (<see cref="PostgresSearchChanges"/>); a row of sign 0 says everything
    /// was replaced (a truncate or a rebuild). The statement triggers of <see cref="Triggers"/> replace version 5's:
    /// a statement that changes nothing no longer bumps the generation, so every generation has at least one
    /// logged row, and a generation missing from the log (pruned) is detected. Each change notifies the channel
    /// <c>search_changed</c> with the new generation, delivered at commit to every instance listening
    /// (PostgreSQL manual, "NOTIFY"), which is how their page caches learn that they are out of date.
    /// </summary>
    public const string Version7 = """
        CREATE TABLE search_changes (
            generation        bigint NOT NULL,
            sign              smallint NOT NULL,
            name_lower        text NOT NULL DEFAULT '',
            repo_lower        text NOT NULL DEFAULT '',
            description_lower text NOT NULL DEFAULT '',
            at                timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX search_changes_generation ON search_changes (generation);
        DROP TRIGGER search_repositories_changed ON search_repositories;
        CREATE FUNCTION search_changes_next() RETURNS bigint LANGUAGE plpgsql AS $$
        DECLARE g bigint;
        BEGIN
            UPDATE search_generation SET generation = generation + 1 WHERE id = 0 RETURNING generation INTO g;
            PERFORM pg_notify('search_changed', g::text);
            RETURN g;
        END $$;
        CREATE FUNCTION search_changes_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE g bigint;
        BEGIN
            IF EXISTS (SELECT 1 FROM new_rows) THEN
                g := search_changes_next();
                INSERT INTO search_changes (generation, sign, name_lower, repo_lower, description_lower)
                    SELECT g, 1, name_lower, repo_lower, description_lower FROM new_rows;
            END IF;
            RETURN NULL;
        END $$;
        CREATE FUNCTION search_changes_updated() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE g bigint;
        BEGIN
            IF EXISTS (SELECT 1 FROM new_rows) THEN
                g := search_changes_next();
                INSERT INTO search_changes (generation, sign, name_lower, repo_lower, description_lower)
                    SELECT g, -1, name_lower, repo_lower, description_lower FROM old_rows
                    UNION ALL SELECT g, 1, name_lower, repo_lower, description_lower FROM new_rows;
            END IF;
            RETURN NULL;
        END $$;
        CREATE FUNCTION search_changes_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE g bigint;
        BEGIN
            IF EXISTS (SELECT 1 FROM old_rows) THEN
                g := search_changes_next();
                INSERT INTO search_changes (generation, sign, name_lower, repo_lower, description_lower)
                    SELECT g, -1, name_lower, repo_lower, description_lower FROM old_rows;
            END IF;
            RETURN NULL;
        END $$;
        CREATE FUNCTION search_changes_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO search_changes (generation, sign) VALUES (search_changes_next(), 0);
            RETURN NULL;
        END $$;
        """ + Triggers;

    /// <summary>
    /// Version 8. The change log also keeps each row's <c>sort_key</c>, so that an instance holding positions of
    /// a tier (sort keys and their ranks, <see cref="PostgresSearchPositions"/>) of an older generation shifts their
    /// ranks by the rows taken out or put in before them instead of finding them again. Rows logged before this
    /// version have an empty key, which says "unknown": positions across them are found again.
    /// </summary>
    public const string Version8 = """
        ALTER TABLE search_changes ADD COLUMN sort_key text COLLATE "C" NOT NULL DEFAULT '';
        CREATE OR REPLACE FUNCTION search_changes_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE g bigint;
        BEGIN
            IF EXISTS (SELECT 1 FROM new_rows) THEN
                g := search_changes_next();
                INSERT INTO search_changes (generation, sign, name_lower, repo_lower, description_lower, sort_key)
                    SELECT g, 1, name_lower, repo_lower, description_lower, sort_key FROM new_rows;
            END IF;
            RETURN NULL;
        END $$;
        CREATE OR REPLACE FUNCTION search_changes_updated() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE g bigint;
        BEGIN
            IF EXISTS (SELECT 1 FROM new_rows) THEN
                g := search_changes_next();
                INSERT INTO search_changes (generation, sign, name_lower, repo_lower, description_lower, sort_key)
                    SELECT g, -1, name_lower, repo_lower, description_lower, sort_key FROM old_rows
                    UNION ALL SELECT g, 1, name_lower, repo_lower, description_lower, sort_key FROM new_rows;
            END IF;
            RETURN NULL;
        END $$;
        CREATE OR REPLACE FUNCTION search_changes_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE g bigint;
        BEGIN
            IF EXISTS (SELECT 1 FROM old_rows) THEN
                g := search_changes_next();
                INSERT INTO search_changes (generation, sign, name_lower, repo_lower, description_lower, sort_key)
                    SELECT g, -1, name_lower, repo_lower, description_lower, sort_key FROM old_rows;
            END IF;
            RETURN NULL;
        END $$;
        """;

    /// <summary>Version 7's triggers, on the table named search_repositories (again after a rebuild swaps it in).</summary>
    public const string Triggers = """
        CREATE TRIGGER search_repositories_inserted AFTER INSERT ON search_repositories
            REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION search_changes_inserted();
        CREATE TRIGGER search_repositories_updated AFTER UPDATE ON search_repositories
            REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION search_changes_updated();
        CREATE TRIGGER search_repositories_deleted AFTER DELETE ON search_repositories
            REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION search_changes_deleted();
        CREATE TRIGGER search_repositories_truncated AFTER TRUNCATE ON search_repositories
            FOR EACH STATEMENT EXECUTE FUNCTION search_changes_truncated();
        """;

    /// <summary>Makes the unique index on the name the primary key again once a rebuilt table is swapped in (the column is already NOT NULL).</summary>
    public const string AttachPrimaryKey =
        "ALTER TABLE search_repositories ADD CONSTRAINT search_repositories_pkey PRIMARY KEY USING INDEX search_repositories_pkey";

    /// <summary>Marks a new generation in which every row was replaced: no instance can bring older counts up to date.</summary>
    public const string Reset = "INSERT INTO search_changes (generation, sign) VALUES (search_changes_next(), 0)";

    /// <summary>
    /// Every index of the search table as of version 5, <c>{0}</c> standing for the table and <c>{1}</c> for a
    /// suffix of the index names: a rebuild loads a table of its own and indexes it after the rows are in
    /// (far cheaper than maintaining the trigram indexes row by row), then swaps it in under these names. The
    /// primary key's index is built as a plain unique index, so that it builds beside the others (adding the
    /// constraint would lock the table against them), and becomes the key with <see cref="AttachPrimaryKey"/>.
    /// </summary>
    public static readonly IReadOnlyList<(string Name, string Definition)> Indexes =
    [
        ("search_repositories_pkey", "CREATE UNIQUE INDEX search_repositories_pkey{1} ON {0} (name)"),
        ("search_repositories_name_trgm", "CREATE INDEX search_repositories_name_trgm{1} ON {0} USING gin (name_lower gin_trgm_ops)"),
        ("search_repositories_description_trgm", "CREATE INDEX search_repositories_description_trgm{1} ON {0} USING gin (description_lower gin_trgm_ops)"),
        ("search_repositories_order", "CREATE INDEX search_repositories_order{1} ON {0} (sort_key) INCLUDE (name_lower, repo_lower)"),
        ("search_repositories_described_order", "CREATE INDEX search_repositories_described_order{1} ON {0} (sort_key) WHERE description_lower <> ''"),
        ("search_repositories_name_prefix", "CREATE INDEX search_repositories_name_prefix{1} ON {0} (name_lower text_pattern_ops)"),
        ("search_repositories_repo_prefix", "CREATE INDEX search_repositories_repo_prefix{1} ON {0} (repo_lower text_pattern_ops)"),
    ];
}
