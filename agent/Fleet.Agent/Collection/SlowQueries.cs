namespace Fleet.Agent.Collection;

/// <summary>
/// SQL of the slow refresh (every CollectionOptions.SlowInterval): server settings, database sizes and
/// the dead-tuple and bloat report. Size functions take an AccessShareLock on each relation they measure,
/// which queues behind a granted or waiting ACCESS EXCLUSIVE lock (ALTER TABLE, VACUUM FULL, REINDEX):
/// relations with such a lock (on the table, its TOAST table or an index) are reported without sizes
/// instead of being measured, and the session's lock_timeout bounds the remaining race.
/// </summary>
internal static class SlowQueries
{
    /// <summary>
    /// Numeric and boolean server settings, converted to base units by <see cref="SettingValues"/>.
    /// pg_settings shows the session's in-memory configuration (no table or catalog scan); settings the
    /// role may not see are absent from it (pg_read_all_settings, part of pg_monitor, shows them all).
    /// </summary>
    public static readonly string Settings = $"""
        SELECT name::text, setting, unit, vartype
        FROM pg_settings
        WHERE vartype IN ('bool', 'integer', 'real')
        ORDER BY name
        LIMIT {MaxSettings}
        """;

    /// <summary>At most this many settings are read (PostgreSQL 15 has 248 numeric and boolean ones, plus those of loaded extensions).</summary>
    public const int MaxSettings = 1000;

    /// <summary>Databases the agent may connect to (sizes need CONNECT); templates excluded.</summary>
    public static readonly string DatabaseSizes = $"""
        SELECT d.datname::text, pg_database_size(d.oid), d.datallowconn
        FROM pg_database d
        WHERE NOT d.datistemplate AND has_database_privilege(d.oid, 'CONNECT')
        ORDER BY d.datname
        LIMIT {CollectionQueries.MaxDatabases}
        """;

    /// <summary>
    /// The current database's tables with the most dead tuples ($1 = how many), with sizes and a bloat
    /// estimate. The estimate: heap pages the live rows would need at the table's fillfactor (tuple =
    /// MAXALIGN(24-byte header + sum of pg_stats.avg_width) + 4-byte line pointer), subtracted from the
    /// heap's size; NULL when the table has no statistics yet (never analyzed) or was locked.
    /// </summary>
    public const string TopTables = """
        WITH top AS (
          SELECT s.relid, s.schemaname, s.relname, s.n_live_tup, s.n_dead_tup
          FROM pg_stat_user_tables s
          ORDER BY s.n_dead_tup DESC, s.n_live_tup DESC, s.relid
          LIMIT $1
        ), locked AS (
          SELECT DISTINCT t.relid
          FROM top t
          JOIN pg_locks l ON l.locktype = 'relation' AND l.mode = 'AccessExclusiveLock'
               AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          WHERE l.relation = t.relid
             OR l.relation = (SELECT c.reltoastrelid FROM pg_class c WHERE c.oid = t.relid)
             OR l.relation IN (SELECT i.indexrelid FROM pg_index i WHERE i.indrelid = t.relid)
        ), measured AS (
          SELECT t.relid, t.schemaname, t.relname, t.n_live_tup, t.n_dead_tup,
                 CASE WHEN l.relid IS NULL THEN pg_total_relation_size(t.relid) END AS total_bytes,
                 CASE WHEN l.relid IS NULL THEN pg_relation_size(t.relid) END AS heap_bytes,
                 (SELECT sum(st.avg_width) FROM pg_stats st
                  WHERE st.schemaname = t.schemaname AND st.tablename = t.relname) AS width,
                 coalesce((SELECT substring(o FROM 'fillfactor=([0-9]+)')::int
                           FROM pg_class c, unnest(c.reloptions) o
                           WHERE c.oid = t.relid AND o LIKE 'fillfactor=%'), 100) AS fillfactor
          FROM top t LEFT JOIN locked l ON l.relid = t.relid
        ), settings AS (
          SELECT current_setting('block_size')::int AS block_size
        )
        SELECT current_database()::text,
               format('%s.%s', m.schemaname, m.relname),
               m.n_live_tup, m.n_dead_tup, m.total_bytes,
               CASE WHEN m.heap_bytes IS NULL OR m.width IS NULL THEN NULL
                    ELSE greatest(
                           m.heap_bytes - ceil(m.n_live_tup * (ceil((24 + m.width) / 8.0) * 8 + 4)
                                              / ((st.block_size - 24) * m.fillfactor / 100.0)) * st.block_size,
                           0)::bigint
               END
        FROM measured m, settings st
        ORDER BY m.n_dead_tup DESC, m.n_live_tup DESC, m.relid
        """;

    /// <summary>At most this many databases are visited for the table report per slow refresh.</summary>
    public const int MaxTableDatabases = 50;
}
