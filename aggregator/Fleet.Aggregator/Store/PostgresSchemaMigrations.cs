namespace Fleet.Aggregator.Store;

/// <summary>
/// The PostgreSQL store's schema history: the same tables and columns as <see cref="SchemaMigrations"/>
/// (SQLite), in PostgreSQL's types. Append new migrations at the end; never edit a released one. Every
/// statement runs with search_path set to Store:Postgres:Schema, so no table name is qualified.
/// </summary>
internal static class PostgresSchemaMigrations
{
    public static IReadOnlyList<SchemaMigration> All { get; } =
    [
        new(1, "events, alerts, alert history, epochs, audit log, sequences", """
            CREATE TABLE events (
                id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                time_ms bigint  NOT NULL,
                kind    integer NOT NULL,
                cluster text    NOT NULL,
                node    text    NOT NULL,
                payload bytea   NOT NULL
            );
            CREATE INDEX events_time ON events (time_ms);
            CREATE INDEX events_cluster ON events (cluster, id);
            CREATE INDEX events_node ON events (node, id);
            CREATE INDEX events_kind ON events (kind, id);

            CREATE TABLE alerts (
                id       text    PRIMARY KEY,
                rule     text    NOT NULL,
                cluster  text    NOT NULL,
                node     text    NOT NULL,
                severity integer NOT NULL,
                state    integer NOT NULL,
                since_ms bigint  NOT NULL,
                state_ms bigint  NOT NULL,
                payload  bytea   NOT NULL
            );
            CREATE INDEX alerts_state ON alerts (state, cluster);

            CREATE TABLE alert_history (
                seq      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                alert_id text    NOT NULL,
                cluster  text    NOT NULL,
                node     text    NOT NULL,
                state    integer NOT NULL,
                time_ms  bigint  NOT NULL,
                payload  bytea   NOT NULL
            );
            CREATE INDEX alert_history_time ON alert_history (time_ms);
            CREATE INDEX alert_history_cluster ON alert_history (cluster, seq);
            CREATE INDEX alert_history_alert ON alert_history (alert_id, seq);

            CREATE TABLE epochs (
                cluster    text   PRIMARY KEY,
                epoch      bigint NOT NULL CHECK (epoch >= 0),
                updated_ms bigint NOT NULL
            );

            CREATE TABLE audit (
                id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                time_ms bigint NOT NULL,
                actor   text   NOT NULL,
                action  text   NOT NULL,
                cluster text   NOT NULL,
                node    text   NOT NULL,
                outcome text   NOT NULL,
                reasons json   NOT NULL CHECK (json_typeof(reasons) = 'array'),
                details json
            );
            CREATE INDEX audit_time ON audit (time_ms);
            CREATE INDEX audit_cluster ON audit (cluster, id);

            CREATE TABLE sequences (
                name  text   PRIMARY KEY,
                value bigint NOT NULL
            );

            CREATE TABLE cluster_primaries (
                cluster           text   PRIMARY KEY,
                primary_node      text   NOT NULL,
                epoch             bigint NOT NULL CHECK (epoch >= 0),
                pending_candidate text,
                pending_epoch     bigint CHECK (pending_epoch IS NULL OR pending_epoch >= 0),
                former_primary    text,
                updated_ms        bigint NOT NULL
            );
            """),
    ];

    public static int LatestVersion => All[^1].Version;
}
