using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Fleet.Aggregator.Store;

/// <summary>
/// Brings a database file to <see cref="SchemaMigrations.LatestVersion"/>: all pending migrations and
/// their schema_version rows in one IMMEDIATE transaction (two processes starting on one file take
/// turns; a failure leaves the file as it was). Refuses a file whose schema is newer than the code.
/// </summary>
internal static class SchemaMigrator
{
    private const string CreateVersionTable = """
        CREATE TABLE IF NOT EXISTS schema_version (
            version     INTEGER PRIMARY KEY NOT NULL,
            description TEXT    NOT NULL,
            applied_at  TEXT    NOT NULL
        );
        """;

    /// <summary>Migrates and returns the schema version the file now has.</summary>
    public static int Migrate(
        SqliteConnection connection,
        string path,
        IReadOnlyList<SchemaMigration> migrations,
        TimeProvider timeProvider,
        ILogger logger)
    {
        var known = migrations.Count == 0 ? 0 : migrations[^1].Version;
        using var transaction = connection.BeginTransaction(deferred: false);

        Execute(connection, transaction, CreateVersionTable);
        var current = ReadVersion(connection, transaction);
        if (current > known)
        {
            logger.SchemaTooNew(path, current, known);
            throw new StoreSchemaException(
                $"The store database '{path}' has schema version {current}, but this fleet-aggregator knows " +
                $"schema versions up to {known}. Refusing to start: run a fleet-aggregator release that knows " +
                $"version {current}, or restore a backup taken with this release.");
        }

        var applied = new List<SchemaMigration>();
        foreach (var migration in migrations)
        {
            if (migration.Version <= current)
            {
                continue;
            }

            Execute(connection, transaction, migration.Sql);
            using var record = connection.CreateCommand();
            record.Transaction = transaction;
            record.CommandText = "INSERT INTO schema_version (version, description, applied_at) VALUES ($version, $description, $appliedAt)";
            record.Parameters.AddWithValue("$version", migration.Version);
            record.Parameters.AddWithValue("$description", migration.Description);
            record.Parameters.AddWithValue("$appliedAt", timeProvider.GetUtcNow().ToString("o", CultureInfo.InvariantCulture));
            record.ExecuteNonQuery();
            applied.Add(migration);
        }

        transaction.Commit();
        foreach (var migration in applied)
        {
            logger.MigrationApplied(migration.Version, migration.Description, path);
        }

        return Math.Max(current, known);
    }

    /// <summary>The highest applied version; 0 for a new file.</summary>
    public static int ReadVersion(SqliteConnection connection, SqliteTransaction? transaction = null)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT COALESCE(MAX(version), 0) FROM schema_version";
        return Convert.ToInt32(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private static void Execute(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
