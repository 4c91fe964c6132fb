using Npgsql;

namespace Fleet.Chaos;

/// <summary>Checks on the writer's record.</summary>
public static class WriteHistory
{
    /// <summary>
    /// No split brain: once a node has acknowledged a write after another node did, the earlier node never
    /// acknowledges again. Returns a description of the first violation, or null.
    /// </summary>
    public static string? FindSplitBrain(IReadOnlyList<Acknowledged> acknowledged)
    {
        ArgumentNullException.ThrowIfNull(acknowledged);
        var retired = new HashSet<string>(StringComparer.Ordinal);
        string? current = null;
        foreach (var write in acknowledged.OrderBy(a => a.At))
        {
            if (write.Node == current)
            {
                continue;
            }

            if (retired.Contains(write.Node))
            {
                return $"write {write.Seq} acknowledged by {write.Node} at {write.At.TotalMilliseconds:F0} ms after {current} had taken over";
            }

            if (current is not null)
            {
                retired.Add(current);
            }

            current = write.Node;
        }

        return null;
    }

    /// <summary>The acknowledged sequence numbers missing from chaos_writes on the server at <paramref name="connectionString"/>.</summary>
    public static async Task<List<long>> MissingOnAsync(string connectionString, IReadOnlyList<Acknowledged> acknowledged)
    {
        ArgumentNullException.ThrowIfNull(acknowledged);
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT seq FROM chaos_writes", connection);
        var present = new HashSet<long>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                present.Add(reader.GetInt64(0));
            }
        }

        return [.. acknowledged.Select(a => a.Seq).Where(s => !present.Contains(s))];
    }
}
