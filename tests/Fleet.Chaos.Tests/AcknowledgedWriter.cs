using System.Collections.Concurrent;
using System.Diagnostics;
using Npgsql;

namespace Fleet.Chaos.Tests;

/// <summary>
/// A client that keeps writing numbered rows to whichever node accepts them, like an application behind a
/// role-aware proxy, and records every acknowledged row with the node that acknowledged it. Bounded in
/// count and time.
/// </summary>
internal sealed class AcknowledgedWriter : IAsyncDisposable
{
    private readonly IReadOnlyList<(string Node, string ConnectionString)> _nodes;
    private readonly ConcurrentQueue<Acknowledged> _acknowledged = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private Task? _loop;
    private long _sequence;

    public AcknowledgedWriter(IEnumerable<(string Node, string ConnectionString)> nodes) =>
        _nodes = [.. nodes.Select(n => (n.Node, new NpgsqlConnectionStringBuilder(n.ConnectionString) { Timeout = 1, CommandTimeout = 2, Pooling = false }.ConnectionString))];

    public IReadOnlyList<Acknowledged> Acknowledgements => [.. _acknowledged];

    public TimeSpan Now => _clock.Elapsed;

    public static async Task CreateTableAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("CREATE TABLE IF NOT EXISTS chaos_writes (seq bigint PRIMARY KEY, node text NOT NULL)", connection);
        await command.ExecuteNonQueryAsync();
    }

    public void Start(int maxWrites = 200_000) => _loop = Task.Run(() => RunAsync(maxWrites));

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            await _loop;
        }
    }

    /// <summary>Waits until a node other than <paramref name="oldNode"/> acknowledged a write; returns when (writer clock).</summary>
    public async Task<Acknowledged> WaitForWriteOnOtherNodeAsync(string oldNode, TimeSpan timeout)
    {
        var deadline = _clock.Elapsed + timeout;
        while (_clock.Elapsed < deadline)
        {
            var found = _acknowledged.FirstOrDefault(a => a.Node != oldNode);
            if (found is not null)
            {
                return found;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"no node other than {oldNode} accepted a write within {timeout.TotalSeconds:F0} s");
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }

    private async Task RunAsync(int maxWrites)
    {
        var preferred = 0;
        while (!_stop.IsCancellationRequested && _sequence < maxWrites)
        {
            var written = false;
            for (var i = 0; i < _nodes.Count && !written; i++)
            {
                var index = (preferred + i) % _nodes.Count;
                var (node, connectionString) = _nodes[index];
                var seq = Interlocked.Increment(ref _sequence);
                try
                {
                    // A new connection per write, as "first acknowledged write on a new connection" asks.
                    await using var connection = new NpgsqlConnection(connectionString);
                    await connection.OpenAsync(_stop.Token);
                    await using var command = new NpgsqlCommand("INSERT INTO chaos_writes (seq, node) VALUES ($1, $2)", connection);
                    command.Parameters.Add(new NpgsqlParameter { Value = seq });
                    command.Parameters.Add(new NpgsqlParameter { Value = node });
                    await command.ExecuteNonQueryAsync(_stop.Token);
                    _acknowledged.Enqueue(new Acknowledged(seq, node, _clock.Elapsed));
                    preferred = index;
                    written = true;
                }
                catch (Exception ex) when (ex is NpgsqlException or OperationCanceledException or IOException or TimeoutException)
                {
                    // Refused (down, read-only, in recovery): try the next node.
                }
            }

            if (!written)
            {
                await Task.Delay(10);
            }
        }
    }
}

internal sealed record Acknowledged(long Seq, string Node, TimeSpan At);

/// <summary>Checks on the writer's record.</summary>
internal static class WriteHistory
{
    /// <summary>
    /// No split brain: once a node has acknowledged a write after another node did, the earlier node never
    /// acknowledges again. Returns a description of the first violation, or null.
    /// </summary>
    public static string? FindSplitBrain(IReadOnlyList<Acknowledged> acknowledged)
    {
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
}
