using System.Collections.Concurrent;
using System.Diagnostics;
using Npgsql;

namespace Fleet.Chaos;

/// <summary>How <see cref="AcknowledgedWriter"/> picks the node for each write.</summary>
public enum WriteTargeting
{
    /// <summary>
    /// Like an application behind a role-aware proxy: keep writing to the node that last accepted a write,
    /// try the others in turn only when it refuses.
    /// </summary>
    FirstAccepting,

    /// <summary>
    /// Every round offers one write to every node (a client that writes wherever it can): any node that
    /// would accept a write is caught doing so. For split-brain checks.
    /// </summary>
    EveryNode,
}

/// <summary>
/// A client that keeps writing numbered rows, each on a new connection, and records every acknowledged row
/// with the node that acknowledged it and when the attempt started. Bounded in count and time.
/// </summary>
public sealed class AcknowledgedWriter : IAsyncDisposable
{
    private readonly IReadOnlyList<(string Node, string ConnectionString)> _nodes;
    private readonly WriteTargeting _targeting;
    private readonly ConcurrentQueue<Acknowledged> _acknowledged = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private Task? _loop;
    private readonly long _sequenceBase;
    private long _sequence;
    private long _attempts;

    /// <summary>
    /// An attempt that gets no answer within this long counts as refused and the next node is tried: a frozen or
    /// partitioned server accepts the TCP connection (backlog) and then says nothing, where a client with a
    /// timeout moves on.
    /// </summary>
    public static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(1);

    /// <param name="nodes">Where to write.</param>
    /// <param name="targeting">How each write picks its node.</param>
    /// <param name="firstSequence">The first row number; a second writer on the same table starts elsewhere.</param>
    public AcknowledgedWriter(IEnumerable<(string Node, string ConnectionString)> nodes, WriteTargeting targeting = WriteTargeting.FirstAccepting, long firstSequence = 1)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        _sequenceBase = firstSequence - 1;
        _sequence = _sequenceBase;
        // CancellationTimeout -1: an abandoned attempt does not wait for the server to answer its cancel request
        // (a frozen or cut-off server never does, and the wait holds a thread of this process meanwhile).
        _nodes = [.. nodes.Select(n => (n.Node, new NpgsqlConnectionStringBuilder(n.ConnectionString) { Timeout = 1, CommandTimeout = 2, CancellationTimeout = -1, Pooling = false }.ConnectionString))];
        _targeting = targeting;
    }

    public IReadOnlyList<Acknowledged> Acknowledgements => [.. _acknowledged];

    /// <summary>The writer's clock, which every <see cref="Acknowledged"/> time is on.</summary>
    public TimeSpan Now => _clock.Elapsed;

    /// <summary>Writes tried, acknowledged or not.</summary>
    public long Attempts => Interlocked.Read(ref _attempts);

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

    /// <summary>Waits until a node other than <paramref name="oldNode"/> acknowledged a write; returns it.</summary>
    public Task<Acknowledged> WaitForWriteOnOtherNodeAsync(string oldNode, TimeSpan timeout) =>
        WaitForAsync(a => a.Node != oldNode, $"no node other than {oldNode} accepted a write", timeout);

    /// <summary>
    /// Waits for the first write whose attempt (connect included) started at or after <paramref name="since"/>
    /// (writer clock) and was acknowledged, optionally only on <paramref name="node"/>: "the first acknowledged
    /// write on a new connection".
    /// </summary>
    public Task<Acknowledged> WaitForWriteStartedAfterAsync(TimeSpan since, TimeSpan timeout, string? node = null) =>
        WaitForAsync(a => a.StartedAt >= since && (node is null || a.Node == node),
            $"no write started after {since.TotalMilliseconds:F0} ms was acknowledged{(node is null ? string.Empty : " by " + node)}", timeout);

    /// <summary>Waits until <paramref name="node"/> has acknowledged <paramref name="count"/> writes in all.</summary>
    public async Task WaitForAcknowledgementsAsync(string node, int count, TimeSpan? timeout = null)
    {
        var deadline = _clock.Elapsed + (timeout ?? TimeSpan.FromSeconds(30));
        while (_acknowledged.Count(a => a.Node == node) < count)
        {
            if (_clock.Elapsed > deadline)
            {
                throw new TimeoutException($"{node} did not acknowledge {count} writes within {(timeout ?? TimeSpan.FromSeconds(30)).TotalSeconds:F0} s");
            }

            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }

    private async Task<Acknowledged> WaitForAsync(Func<Acknowledged, bool> predicate, string failure, TimeSpan timeout)
    {
        var deadline = _clock.Elapsed + timeout;
        while (true)
        {
            // The queue is in acknowledgement order, so the first match is the earliest.
            var found = _acknowledged.FirstOrDefault(predicate);
            if (found is not null)
            {
                return found;
            }

            if (_clock.Elapsed >= deadline)
            {
                throw new TimeoutException($"{failure} within {timeout.TotalSeconds:F0} s");
            }

            await Task.Delay(10);
        }
    }

    private async Task RunAsync(int maxWrites)
    {
        var preferred = 0;
        while (!_stop.IsCancellationRequested && Interlocked.Read(ref _sequence) - _sequenceBase < maxWrites)
        {
            var written = false;
            for (var i = 0; i < _nodes.Count && (_targeting == WriteTargeting.EveryNode || !written) && !_stop.IsCancellationRequested; i++)
            {
                var index = (preferred + i) % _nodes.Count;
                if (await TryWriteAsync(_nodes[index]))
                {
                    if (_targeting == WriteTargeting.FirstAccepting)
                    {
                        preferred = index;
                    }

                    written = true;
                }
            }

            if (!written)
            {
                await Task.Delay(10);
            }
        }
    }

    private async Task<bool> TryWriteAsync((string Node, string ConnectionString) target)
    {
        var (node, connectionString) = target;
        var seq = Interlocked.Increment(ref _sequence);
        Interlocked.Increment(ref _attempts);
        var startedAt = _clock.Elapsed;
        try
        {
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            attempt.CancelAfter(AttemptTimeout);
            // A new connection per write, as "first acknowledged write on a new connection" asks.
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync(attempt.Token);
            await using var command = new NpgsqlCommand("INSERT INTO chaos_writes (seq, node) VALUES ($1, $2)", connection);
            command.Parameters.Add(new NpgsqlParameter { Value = seq });
            command.Parameters.Add(new NpgsqlParameter { Value = node });
            await command.ExecuteNonQueryAsync(attempt.Token);
            _acknowledged.Enqueue(new Acknowledged(seq, node, _clock.Elapsed, startedAt));
            return true;
        }
        catch (Exception ex) when (ex is NpgsqlException or OperationCanceledException or IOException or TimeoutException)
        {
            // Refused (down, read-only, in recovery): the caller tries the next node.
            return false;
        }
    }
}

/// <summary>One acknowledged write: its sequence number, the node that acknowledged it, when (writer clock), and when its attempt began.</summary>
public sealed record Acknowledged(long Seq, string Node, TimeSpan At, TimeSpan StartedAt);
