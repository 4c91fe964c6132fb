namespace Fleet.Aggregator.Store;

/// <summary>One schema step: applied once, in version order, inside the start-up transaction.</summary>
internal sealed record SchemaMigration(int Version, string Description, string Sql);

/// <summary>
/// The store's schema history. Append new migrations at the end with the next version; never edit or
/// reorder a released one (docs/store.md, "Migrations"). Filterable fields are columns; everything else
/// of a protobuf message lives in its serialized bytes (payload), so new proto fields need no migration.
/// </summary>
internal static class SchemaMigrations
{
    public static IReadOnlyList<SchemaMigration> All { get; } =
    [
        new(1, "events, alerts, alert history, epochs, audit log, sequences", """
            CREATE TABLE events (
                id      INTEGER PRIMARY KEY AUTOINCREMENT,
                time_ms INTEGER NOT NULL,
                kind    INTEGER NOT NULL,
                cluster TEXT    NOT NULL,
                node    TEXT    NOT NULL,
                payload BLOB    NOT NULL
            );
            CREATE INDEX events_time ON events (time_ms);
            CREATE INDEX events_cluster ON events (cluster, id);
            CREATE INDEX events_node ON events (node, id);
            CREATE INDEX events_kind ON events (kind, id);

            CREATE TABLE alerts (
                id       TEXT    PRIMARY KEY NOT NULL,
                rule     TEXT    NOT NULL,
                cluster  TEXT    NOT NULL,
                node     TEXT    NOT NULL,
                severity INTEGER NOT NULL,
                state    INTEGER NOT NULL,
                since_ms INTEGER NOT NULL,
                state_ms INTEGER NOT NULL,
                payload  BLOB    NOT NULL
            );
            CREATE INDEX alerts_state ON alerts (state, cluster);

            CREATE TABLE alert_history (
                seq      INTEGER PRIMARY KEY AUTOINCREMENT,
                alert_id TEXT    NOT NULL,
                cluster  TEXT    NOT NULL,
                node     TEXT    NOT NULL,
                state    INTEGER NOT NULL,
                time_ms  INTEGER NOT NULL,
                payload  BLOB    NOT NULL
            );
            CREATE INDEX alert_history_time ON alert_history (time_ms);
            CREATE INDEX alert_history_cluster ON alert_history (cluster, seq);
            CREATE INDEX alert_history_alert ON alert_history (alert_id, seq);

            CREATE TABLE epochs (
                cluster    TEXT    PRIMARY KEY NOT NULL,
                epoch      INTEGER NOT NULL CHECK (epoch >= 0),
                updated_ms INTEGER NOT NULL
            );

            CREATE TABLE audit (
                id      INTEGER PRIMARY KEY AUTOINCREMENT,
                time_ms INTEGER NOT NULL,
                actor   TEXT    NOT NULL,
                action  TEXT    NOT NULL,
                cluster TEXT    NOT NULL,
                node    TEXT    NOT NULL,
                outcome TEXT    NOT NULL,
                reasons TEXT    NOT NULL CHECK (json_valid(reasons) AND json_type(reasons) = 'array'),
                details TEXT    CHECK (details IS NULL OR json_valid(details))
            );
            CREATE INDEX audit_time ON audit (time_ms);
            CREATE INDEX audit_cluster ON audit (cluster, id);

            CREATE TABLE sequences (
                name  TEXT    PRIMARY KEY NOT NULL,
                value INTEGER NOT NULL
            );
            """),
        new(2, "published primary per cluster, with an unconfirmed promotion", """
            CREATE TABLE cluster_primaries (
                cluster           TEXT    PRIMARY KEY NOT NULL,
                primary_node      TEXT    NOT NULL,
                epoch             INTEGER NOT NULL CHECK (epoch >= 0),
                pending_candidate TEXT,
                pending_epoch     INTEGER CHECK (pending_epoch IS NULL OR pending_epoch >= 0),
                former_primary    TEXT,
                updated_ms        INTEGER NOT NULL
            );
            """),
    ];

    public static int LatestVersion => All[^1].Version;
}
