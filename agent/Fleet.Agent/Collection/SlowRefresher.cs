using System.Data.Common;
using Fleet.Protos.V1;
using Google.Protobuf.WellKnownTypes;
using Npgsql;

namespace Fleet.Agent.Collection;

/// <summary>
/// Runs a slow refresh: server settings on a short-lived session without the agent's session settings
/// (whose own statement_timeout etc. would otherwise be reported as the server's), one batch on the
/// agent's session (database sizes and its own database's table report), then one short-lived session
/// per other database for its table report (pg_stat_user_tables only sees the current database).
/// Failures become collection errors; the previous figures stay, each part on its own.
/// </summary>
internal sealed class SlowRefresher(PostgresConnectionFactory connections, BatchRunner batches, TimeProvider time, int topTables)
{
    public async Task RefreshAsync(NpgsqlConnection session, SlowFigures figures, ICollection<string> errors, CancellationToken cancellationToken)
    {
        figures.MarkAttempt();
        var asOf = Timestamp.FromDateTimeOffset(time.GetUtcNow());
        var tables = new List<NodeSnapshot.Types.TableStats>();
        var otherDatabases = new List<string>();
        var anyTableReport = false;
        await RefreshSettingsAsync(figures, asOf, errors, cancellationToken);
        try
        {
            await using var batch = new NpgsqlBatch(session);
            batch.BatchCommands.Add(new NpgsqlBatchCommand(SlowQueries.DatabaseSizes));
            batch.BatchCommands.Add(TopTablesCommand());
            var sizes = await batches.RunAsync(
                batch,
                async reader =>
                {
                    var sizes = new Dictionary<string, ulong>(StringComparer.Ordinal);
                    while (await reader.ReadAsync(cancellationToken))
                    {
                        var name = reader.Text(0);
                        sizes[name] = reader.UInt64(1);
                        if (reader.Boolean(2) && name != session.Database)
                        {
                            otherDatabases.Add(name);
                        }
                    }

                    await reader.NextResultAsync(cancellationToken);
                    await ReadTablesAsync(reader, tables, cancellationToken);
                    return sizes;
                },
                cancellationToken);
            figures.SetDatabaseSizes(sizes, asOf);
            anyTableReport = true;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            errors.Add($"slow refresh: {connections.Redact(PostgresFailure.Short(e.Message))}");
            return;
        }

        foreach (var database in otherDatabases.Take(SlowQueries.MaxTableDatabases - 1))
        {
            try
            {
                await using var other = await connections.OpenDatabaseSessionAsync(database, cancellationToken);
                await using var batch = new NpgsqlBatch(other.Connection);
                batch.BatchCommands.Add(TopTablesCommand());
                await batches.RunAsync(batch, reader => ReadTablesAsync(reader, tables, cancellationToken), cancellationToken);
                anyTableReport = true;
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                errors.Add($"table report of database '{database}': {connections.Redact(PostgresFailure.Short(e.Message))}");
            }
        }

        if (anyTableReport)
        {
            var health = new NodeSnapshot.Types.TableHealth { AsOf = asOf };
            health.TopTables.AddRange(SlowFigures.MergeTop(tables, topTables));
            figures.SetTableHealth(health);
        }
    }

    private async Task RefreshSettingsAsync(SlowFigures figures, Timestamp asOf, ICollection<string> errors, CancellationToken cancellationToken)
    {
        try
        {
            await using var plain = await connections.OpenSettingsSessionAsync(cancellationToken);
            await using var batch = new NpgsqlBatch(plain.Connection);
            batch.BatchCommands.Add(new NpgsqlBatchCommand(SlowQueries.Settings));
            figures.SetSettings(await batches.RunAsync(batch, reader => ReadSettingsAsync(reader, asOf, errors, cancellationToken), cancellationToken));
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            errors.Add($"settings: {connections.Redact(PostgresFailure.Short(e.Message))}");
        }
    }

    private NpgsqlBatchCommand TopTablesCommand()
    {
        var command = new NpgsqlBatchCommand(SlowQueries.TopTables);
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = topTables });
        return command;
    }

    private static async Task<NodeSnapshot.Types.Settings> ReadSettingsAsync(
        DbDataReader reader, Timestamp asOf, ICollection<string> errors, CancellationToken cancellationToken)
    {
        var settings = new NodeSnapshot.Types.Settings { AsOf = asOf };
        List<string>? unconverted = null;
        while (await reader.ReadAsync(cancellationToken))
        {
            var name = reader.Text(0);
            var setting = reader.Text(1);
            var unit = reader.NullableText(2);
            if (SettingValues.TryConvert(setting, unit, reader.Text(3), out var value, out var baseUnit))
            {
                settings.Items.Add(new NodeSnapshot.Types.Setting { Name = name, Value = value, Unit = baseUnit });
            }
            else
            {
                (unconverted ??= []).Add(unit is null ? $"{name}='{setting}'" : $"{name}='{setting}' {unit}");
            }
        }

        // A unit or value the agent does not know (a future PostgreSQL) is left out rather than exported
        // in a wrong unit, and said once per refresh.
        if (unconverted is not null)
        {
            errors.Add($"settings left out (unknown unit or value): {string.Join(", ", unconverted.Take(10))}" +
                       (unconverted.Count > 10 ? $" and {unconverted.Count - 10} more" : string.Empty));
        }

        return settings;
    }

    private static async Task<int> ReadTablesAsync(DbDataReader reader, List<NodeSnapshot.Types.TableStats> tables, CancellationToken cancellationToken)
    {
        var count = 0;
        while (await reader.ReadAsync(cancellationToken))
        {
            var table = new NodeSnapshot.Types.TableStats
            {
                Database = reader.Text(0),
                Name = reader.Text(1),
                LiveTuples = reader.UInt64(2),
                DeadTuples = reader.UInt64(3),
            };
            var all = (double)table.LiveTuples + table.DeadTuples;
            if (all > 0)
            {
                table.DeadRatio = table.DeadTuples / all;
            }

            if (reader.NullableUInt64(4) is { } total)
            {
                table.TotalBytes = total;
            }

            if (reader.NullableUInt64(5) is { } bloat)
            {
                table.EstimatedBloatBytes = bloat;
                if (table.HasTotalBytes && table.TotalBytes > 0)
                {
                    table.EstimatedBloatRatio = Math.Min(1, (double)bloat / table.TotalBytes);
                }
            }

            tables.Add(table);
            count++;
        }

        return count;
    }
}
