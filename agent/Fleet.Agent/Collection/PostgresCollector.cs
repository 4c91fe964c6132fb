using System.Data;
using Fleet.Agent.Configuration;
using Fleet.Protos.V1;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Fleet.Agent.Collection;

/// <summary>
/// Collects one <see cref="NodeSnapshot"/> per call over the agent's own long-lived session: one batch of
/// version-aware queries per cycle, plus the slow refresh when due. Never throws for PostgreSQL
/// trouble (only for cancellation): a server that is down, starting, stopping or unreachable yields a
/// snapshot saying so, and the next call reconnects.
/// </summary>
internal sealed class PostgresCollector : IAsyncDisposable
{
    private readonly PostgresConnectionFactory _connections;
    private readonly PostgresOptions _postgres;
    private readonly TimeProvider _time;
    private readonly HostMetricsReader _host;
    private readonly SlowFigures _slow;
    private readonly SlowRefresher _slowRefresher;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private NpgsqlConnection? _session;
    private int _serverVersionNum;
    private string _serverVersion = string.Empty;
    private string? _serverDataDirectory;
    private (long Timestamp, Dictionary<string, DatabaseCounters> Counters)? _previous;

    public PostgresCollector(PostgresConnectionFactory connections, IOptions<AgentOptions> options, TimeProvider time)
        : this(connections, options.Value.Postgres, options.Value.Collection, time, new HostMetricsReader())
    {
    }

    internal PostgresCollector(
        PostgresConnectionFactory connections, PostgresOptions postgres, CollectionOptions collection, TimeProvider time, HostMetricsReader host)
    {
        _connections = connections;
        _postgres = postgres;
        _time = time;
        _host = host;
        _slow = new SlowFigures(time, collection.SlowInterval);
        _slowRefresher = new SlowRefresher(connections, Batches, time, collection.TopTables);
    }

    /// <summary>Counts the round trips (batches) made; a normal cycle makes exactly one.</summary>
    internal BatchRunner Batches { get; } = new();

    /// <summary>Collects a snapshot. Throws only <see cref="OperationCanceledException"/> when <paramref name="cancellationToken"/> fires.</summary>
    public async Task<NodeSnapshot> CollectAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            return await CollectOnceAsync(cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<NodeSnapshot> CollectOnceAsync(CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        var snapshot = new NodeSnapshot { CollectedAt = Timestamp.FromDateTimeOffset(_time.GetUtcNow()) };
        var errors = new List<string>();
        try
        {
            var facts = await CollectFastAsync(snapshot, started, cancellationToken);
            _serverDataDirectory = facts.DataDirectory ?? _serverDataDirectory;
            if (_slow.IsDue && _session is { } session)
            {
                await _slowRefresher.RefreshAsync(session, _slow, errors, cancellationToken);
            }

            _slow.ApplyTo(snapshot);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            var failure = PostgresFailure.Classify(e);
            var reason = _connections.Redact(failure.Reason);
            await DropBrokenSessionAsync();
            var collectedAt = snapshot.CollectedAt;
            snapshot = new NodeSnapshot { CollectedAt = collectedAt, PostgresState = failure.State, Role = NodeRole.Unknown };
            if (failure.State == PostgresState.Up)
            {
                // The server answered with an error (e.g. statement_timeout): it is up, the figures are missing.
                SetVersion(snapshot);
                errors.Add($"collection query failed: {reason}");
            }
            else
            {
                snapshot.PostgresError = reason;
                errors.Add($"postgres: {reason}");
            }
        }

        snapshot.Host = _host.Read(_postgres.DataDirectory ?? _serverDataDirectory, errors);
        snapshot.CollectionErrors.AddRange(errors);
        snapshot.CollectionSeconds = _time.GetElapsedTime(started).TotalSeconds;
        return snapshot;
    }

    /// <summary>Runs the fast batch; a session that turns out to be dead (server restarted) is replaced once.</summary>
    private async Task<FastFacts> CollectFastAsync(NodeSnapshot snapshot, long started, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var reused = _session is not null;
            var session = await EnsureSessionAsync(cancellationToken);
            try
            {
                var part = new NodeSnapshot();
                FastFacts facts;
                await using (var batch = new NpgsqlBatch(session))
                {
                    foreach (var sql in CollectionQueries.FastBatch(_serverVersionNum))
                    {
                        batch.BatchCommands.Add(new NpgsqlBatchCommand(sql));
                    }

                    facts = await Batches.RunAsync(
                        batch, reader => FastResultReader.ReadAsync(reader, part, cancellationToken), cancellationToken);
                }

                snapshot.MergeFrom(part);
                snapshot.PostgresState = PostgresState.Up;
                SetVersion(snapshot);
                ApplyRates(snapshot, facts, started);
                return facts;
            }
            catch (Exception) when (attempt == 0 && reused && session.FullState != ConnectionState.Open &&
                                    !cancellationToken.IsCancellationRequested)
            {
                await DropBrokenSessionAsync();
            }
        }
    }

    private void SetVersion(NodeSnapshot snapshot)
    {
        snapshot.ServerVersionNum = (uint)_serverVersionNum;
        snapshot.ServerVersion = _serverVersion;
    }

    private void ApplyRates(NodeSnapshot snapshot, FastFacts facts, long started)
    {
        if (_previous is { } previous)
        {
            var elapsed = _time.GetElapsedTime(previous.Timestamp, started);
            snapshot.RateIntervalSeconds = elapsed.TotalSeconds;
            foreach (var database in snapshot.Databases)
            {
                if (previous.Counters.TryGetValue(database.Name, out var before) &&
                    facts.Counters.TryGetValue(database.Name, out var now) &&
                    RateCalculator.Compute(before, now, elapsed) is { } rates)
                {
                    database.CommitsPerSecond = rates.CommitsPerSecond;
                    database.RollbacksPerSecond = rates.RollbacksPerSecond;
                    database.DeadlocksPerHour = rates.DeadlocksPerHour;
                    database.TempBytesPerSecond = rates.TempBytesPerSecond;
                    database.BlocksReadPerSecond = rates.BlocksReadPerSecond;
                    if (rates.IntervalHitRatio is { } ratio)
                    {
                        database.IntervalHitRatio = ratio;
                    }
                }
            }
        }

        _previous = (started, facts.Counters);
    }

    private async Task<NpgsqlConnection> EnsureSessionAsync(CancellationToken cancellationToken)
    {
        if (_session is { FullState: ConnectionState.Open } open)
        {
            return open;
        }

        await DropSessionAsync();
        var session = await _connections.OpenConnectionAsync(cancellationToken);
        _session = session;
        _serverVersionNum = VersionNumber(session.PostgreSqlVersion);
        _serverVersion = session.ServerVersion;
        return session;
    }

    /// <summary>server_version_num from the version the server reported at start-up (major * 10000 + minor since PostgreSQL 10).</summary>
    internal static int VersionNumber(Version version) => (version.Major * 10000) + Math.Max(0, version.Minor);

    private async Task DropBrokenSessionAsync()
    {
        if (_session is not { FullState: ConnectionState.Open })
        {
            await DropSessionAsync();
        }
    }

    private async Task DropSessionAsync()
    {
        if (_session is { } session)
        {
            _session = null;
            try
            {
                await session.DisposeAsync();
            }
            catch (Exception e) when (e is NpgsqlException or IOException or InvalidOperationException)
            {
                // Closing a dead session can fail; it is gone either way.
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await DropSessionAsync();
        _gate.Dispose();
    }
}
