using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace Fleet.Bench.Agent.Setup;

/// <summary>What <see cref="TableSet.CreateAsync"/> built.</summary>
internal sealed record TableSetInfo(int Tables, int Indexes, long Rows, long DeadRows, long DatabaseBytes, TimeSpan Took);

/// <summary>
/// The benchmark database: <c>tables</c> tables t0001.. with a primary key, a secondary index, 20–499 rows
/// each (bounded: about 260 rows on average), dead tuples in every tenth table, statistics from ANALYZE,
/// and one physical replication slot so both contenders have a slot to report.
/// </summary>
internal static class TableSet
{
    private const int TablesPerTransaction = 100;

    public static async Task<TableSetInfo> CreateAsync(BenchPostgres postgres, int tables, Action<string> log, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        await using var connection = await postgres.OpenAsync(BenchPostgres.Database, cancellationToken);
        for (var first = 1; first <= tables; first += TablesPerTransaction)
        {
            var last = Math.Min(tables, first + TablesPerTransaction - 1);
            await using var batch = new NpgsqlCommand(BatchSql(first, last), connection);
            await batch.ExecuteNonQueryAsync(cancellationToken);
        }

        log($"created {tables} tables in {stopwatch.Elapsed.TotalSeconds:F1} s; analyzing");
        await ExecuteAsync(connection, "ANALYZE", cancellationToken);
        await ExecuteAsync(connection, $"SELECT pg_create_physical_replication_slot('{BenchPostgres.SlotName}', true)", cancellationToken);

        await using var facts = new NpgsqlCommand(
            """
            SELECT count(*)::int,
                   (SELECT count(*)::int FROM pg_stat_user_indexes),
                   coalesce(sum(n_live_tup), 0)::bigint,
                   coalesce(sum(n_dead_tup), 0)::bigint,
                   pg_database_size(current_database())
            FROM pg_stat_user_tables
            """,
            connection);
        await using var reader = await facts.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new TableSetInfo(reader.GetInt32(0), reader.GetInt32(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), stopwatch.Elapsed);
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static string BatchSql(int first, int last) => string.Create(
        CultureInfo.InvariantCulture,
        $$"""
        DO $$
        DECLARE
          i int;
          t text;
        BEGIN
          FOR i IN {{first}}..{{last}} LOOP
            t := 'public.t' || lpad(i::text, 4, '0');
            EXECUTE format('CREATE TABLE %s (id int PRIMARY KEY, n int NOT NULL, v text NOT NULL, at timestamptz NOT NULL DEFAULT now())', t);
            EXECUTE format('CREATE INDEX ON %s (n)', t);
            EXECUTE format('INSERT INTO %s (id, n, v) SELECT g, g %% 97, md5(g::text) FROM generate_series(1, %s) g', t, 20 + (i * 7919) % 480);
            IF i % 10 = 0 THEN
              EXECUTE format('UPDATE %s SET v = v || ''x'' WHERE id %% 3 = 0', t);
            END IF;
          END LOOP;
        END
        $$
        """);
}
