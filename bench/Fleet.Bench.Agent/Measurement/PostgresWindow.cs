namespace Fleet.Bench.Agent.Measurement;

/// <summary>What PostgreSQL spent on its clients during one window.</summary>
internal sealed record PostgresCost(
    double BackendCpuMs,
    double ExitedChildrenCpuMs,
    double PostmasterCpuMs,
    double BackgroundCpuMs,
    long ConnectionsOpened,
    IReadOnlyDictionary<string, long> ConnectionsByDatabase,
    double? ExecMs,
    long? Statements,
    int BackendsSeen)
{
    /// <summary>CPU attributable to the client: its backends (live ones, and exited ones as the postmaster reaped them) and the postmaster's own (forks).</summary>
    public double ClientCpuMs => BackendCpuMs + ExitedChildrenCpuMs + PostmasterCpuMs;
}

/// <summary>
/// Measures PostgreSQL's side of one window from /proc, with only one contender running:
/// <list type="bullet">
/// <item>live client backends (pg_stat_activity, the probe excluded): utime + stime at the end minus at the
/// start (0 for a backend born during the window);</item>
/// <item>backends that exited during the window (per-scrape connections, the agent's short-lived slow-refresh
/// sessions): the postmaster's cutime + cstime grows by their whole lifetime when it reaps them, minus what
/// they had already used at the start;</item>
/// <item>the postmaster itself (it forks every new connection);</item>
/// <item>background processes, reported apart (not the client's doing, but shown so nothing hides there).</item>
/// </list>
/// Connections opened = growth of pg_stat_database.sessions; statement time from pg_stat_statements.
/// </summary>
internal sealed class PostgresWindow
{
    private readonly PostgresProbe _probe;
    private readonly int _postmasterPid;
    private Dictionary<int, long> _startBackends = [];
    private Dictionary<int, long> _startBackground = [];
    private long _startReaped;
    private long _startPostmaster;
    private Dictionary<string, long> _startSessions = [];
    private Dictionary<int, long>? _endBackends;
    private Dictionary<int, long>? _endBackground;
    private long _endReaped;
    private long _endPostmaster;
    private int _backendsSeen;

    private PostgresWindow(PostgresProbe probe, int postmasterPid)
    {
        _probe = probe;
        _postmasterPid = postmasterPid;
    }

    /// <summary>Samples the start. Call it when nothing of the contender is in flight.</summary>
    public static async Task<PostgresWindow> BeginAsync(PostgresProbe probe, int postmasterPid, CancellationToken cancellationToken)
    {
        var window = new PostgresWindow(probe, postmasterPid);
        window._startSessions = await probe.SessionsAsync(cancellationToken);
        await probe.ResetStatementsAsync(cancellationToken);
        window._startBackground = ReadTicks(await probe.BackgroundPidsAsync(cancellationToken));
        var backends = await probe.ClientBackendsAsync(cancellationToken);
        window._startBackends = ReadTicks(backends.Select(b => b.Pid));
        var postmaster = ProcFs.ReadCpu(postmasterPid) ?? throw new InvalidOperationException("postmaster is gone");
        window._startReaped = postmaster.ReapedChildTicks;
        window._startPostmaster = postmaster.OwnTicks;
        return window;
    }

    /// <summary>Samples the CPU counters at the end of the window (call right when it ends).</summary>
    public async Task EndCpuAsync(CancellationToken cancellationToken)
    {
        var postmaster = ProcFs.ReadCpu(_postmasterPid) ?? throw new InvalidOperationException("postmaster is gone");
        var backends = await _probe.ClientBackendsAsync(cancellationToken);
        _endBackends = ReadTicks(backends.Select(b => b.Pid));
        _endBackground = ReadTicks(_startBackground.Keys);
        // Re-read the postmaster after listing: a backend that exited meanwhile is then in cutime, not lost.
        postmaster = ProcFs.ReadCpu(_postmasterPid) ?? postmaster;
        _endReaped = postmaster.ReapedChildTicks;
        _endPostmaster = postmaster.OwnTicks;
        _backendsSeen = _startBackends.Keys.Union(_endBackends.Keys).Count();
    }

    /// <summary>
    /// Completes the window: waits <paramref name="settle"/> for backends to flush their statistics
    /// (PostgreSQL 15 flushes at most once a second), then reads sessions and statement totals.
    /// </summary>
    public async Task<PostgresCost> EndAsync(TimeSpan settle, CancellationToken cancellationToken)
    {
        if (_endBackends is null)
        {
            await EndCpuAsync(cancellationToken);
        }

        await Task.Delay(settle, cancellationToken);
        var sessions = await _probe.SessionsAsync(cancellationToken);
        var statements = await _probe.StatementsAsync(cancellationToken);

        long backendTicks = 0;
        foreach (var (pid, end) in _endBackends!)
        {
            backendTicks += end - _startBackends.GetValueOrDefault(pid);
        }

        // A backend alive at the start but gone at the end was reaped with its whole lifetime: take off what it had used before.
        var exitedBefore = _startBackends.Where(b => !_endBackends.ContainsKey(b.Key)).Sum(b => b.Value);
        var reapedTicks = _endReaped - _startReaped - exitedBefore;
        var backgroundTicks = _endBackground!.Sum(b => b.Value - _startBackground.GetValueOrDefault(b.Key));
        var byDatabase = sessions
            .Select(s => (s.Key, Opened: s.Value - _startSessions.GetValueOrDefault(s.Key)))
            .Where(s => s.Opened != 0)
            .ToDictionary(s => s.Key, s => s.Opened, StringComparer.Ordinal);
        return new PostgresCost(
            backendTicks * ProcCpu.TickMilliseconds,
            Math.Max(0, reapedTicks) * ProcCpu.TickMilliseconds,
            (_endPostmaster - _startPostmaster) * ProcCpu.TickMilliseconds,
            backgroundTicks * ProcCpu.TickMilliseconds,
            byDatabase.Values.Sum(),
            byDatabase,
            statements?.ExecMs,
            statements?.Calls,
            _backendsSeen);
    }

    private static Dictionary<int, long> ReadTicks(IEnumerable<int> pids)
    {
        var ticks = new Dictionary<int, long>();
        foreach (var pid in pids)
        {
            if (ProcFs.ReadCpu(pid) is { } cpu)
            {
                ticks[pid] = cpu.OwnTicks;
            }
        }

        return ticks;
    }
}
