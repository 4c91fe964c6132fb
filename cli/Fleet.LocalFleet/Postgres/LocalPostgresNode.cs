using System.Globalization;
using Npgsql;

namespace Fleet.LocalFleet.Postgres;

/// <summary>A server of a <see cref="LocalPostgresCluster"/>, driven through pg_ctl and signals.</summary>
internal sealed class LocalPostgresNode : IPostgresNode
{
    private const string LogFileName = "postgres.log";

    // pg_ctl's own waits get this long; our process deadline adds a margin so pg_ctl reports first.
    private static readonly TimeSpan ServerTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan ProcessMargin = TimeSpan.FromSeconds(15);
    private const int MaxPortAttempts = 5;

    private readonly PgToolRunner tools;
    private readonly Action<string> log;
    private readonly PostmasterProcesses processes;
    private readonly List<int> frozen = [];

    public LocalPostgresNode(
        string name, string dataDirectory, string socketDirectory, string processTag, PgToolRunner tools, Action<string> log)
    {
        Name = name;
        DataDirectory = dataDirectory;
        ProcessTag = processTag;
        Port = FreeTcpPort.Pick();
        this.tools = tools;
        this.log = log;
        processes = new PostmasterProcesses(dataDirectory, socketDirectory, processTag);
    }

    public string Name { get; }

    public string Host => "127.0.0.1";

    public int Port { get; private set; }

    public string DataDirectory { get; }

    /// <summary>"&lt;cluster directory name&gt;/&lt;node name&gt;": unique on the machine, used as cluster_name.</summary>
    public string ProcessTag { get; }

    public string LogPath => Path.Combine(DataDirectory, LogFileName);

    public string ConnectionString => new NpgsqlConnectionStringBuilder
    {
        Host = Host,
        Port = Port,
        Username = "postgres",
        Database = "postgres",
        Pooling = false,
        Timeout = 10,
        CommandTimeout = 30,
        IncludeErrorDetail = true,
    }.ConnectionString;

    public bool IsRunning => processes.RunningPostmasterPid is not null;

    public string? NetworkNamespace { get; set; }

    public Task StartAsync(CancellationToken cancellationToken = default) =>
        StartAsync(portMayChange: false, cancellationToken);

    /// <summary>Starts the server; during cluster start-up a port taken meanwhile is replaced by a fresh one.</summary>
    internal async Task StartAsync(bool portMayChange, CancellationToken cancellationToken)
    {
        if (IsRunning)
        {
            return;
        }

        // Children of a killed postmaster still hold its shared memory; a new postmaster refuses to start until they are gone.
        await processes.KillLeftoversAsync(TimeSpan.FromSeconds(10));
        foreach (var removed in processes.RemoveStaleLockFiles(Port))
        {
            log($"{Name}: removed {removed}");
        }
        for (var attempt = 1; ; attempt++)
        {
            var logOffset = LogFile.Length(LogPath);
            var result = await tools.RunAsync(
                "pg_ctl",
                ["start", "-w", "-t", Seconds(ServerTimeout), "-D", DataDirectory, "-l", LogPath,
                 "-o", $"-p {Port} -c cluster_name={ProcessTag}"],
                ServerTimeout + ProcessMargin,
                cancellationToken,
                NetworkNamespace);
            if (result.Succeeded)
            {
                log($"{Name}: started on port {Port}");
                return;
            }

            var serverLog = LogFile.ReadTail(LogPath, 40, logOffset);
            if (portMayChange && attempt < MaxPortAttempts && serverLog.Contains("Address already in use", StringComparison.Ordinal))
            {
                var takenPort = Port;
                Port = FreeTcpPort.Pick();
                log($"{Name}: port {takenPort} was taken before the server bound it; retrying on {Port}");
                continue;
            }

            throw new PostgresClusterException(
                $"{Name} did not start on port {Port} (pg_ctl exit code {result.ExitCode}): {result.StandardError.Trim()}" +
                $"{Environment.NewLine}--- {Name} log ({LogPath}) since this start ---{Environment.NewLine}{serverLog}");
        }
    }

    public async Task StopAsync(PostgresStopMode mode = PostgresStopMode.Fast, CancellationToken cancellationToken = default)
    {
        if (!IsRunning)
        {
            return;
        }

        var modeName = mode == PostgresStopMode.Immediate ? "immediate" : "fast";
        var result = await tools.RunAsync(
            "pg_ctl",
            ["stop", "-w", "-t", Seconds(ServerTimeout), "-D", DataDirectory, "-m", modeName],
            ServerTimeout + ProcessMargin,
            cancellationToken);
        if (!result.Succeeded && IsRunning)
        {
            throw new PostgresClusterException(
                $"{Name} did not stop ({modeName}): {result.StandardError.Trim()}{Environment.NewLine}{LogFile.Section(Name, LogPath)}");
        }

        log($"{Name}: stopped ({modeName})");
    }

    public int KillPostmaster()
    {
        if (processes.RunningPostmasterPid is not { } pid)
        {
            throw new InvalidOperationException($"{Name} is not running, so there is no postmaster to kill.");
        }

        ProcessTable.Kill(pid);
        if (!ProcessTable.WaitForExit(pid, TimeSpan.FromSeconds(10)))
        {
            throw new PostgresClusterException($"{Name}: postmaster {pid} survived SIGKILL for 10 s.");
        }

        log($"{Name}: postmaster {pid} killed");
        return pid;
    }

    public int Freeze()
    {
        var pids = processes.FindAll();
        ProcessTable.Signal("STOP", pids);
        lock (frozen)
        {
            frozen.AddRange(pids);
        }

        log($"{Name}: {pids.Count} processes frozen (SIGSTOP)");
        return pids.Count;
    }

    public void Thaw()
    {
        int[] pids;
        lock (frozen)
        {
            pids = [.. frozen];
            frozen.Clear();
        }

        ProcessTable.Signal("CONT", [.. pids.Where(ProcessTable.IsAlive)]);
        if (pids.Length > 0)
        {
            log($"{Name}: thawed (SIGCONT)");
        }
    }

    public async Task PromoteAsync(CancellationToken cancellationToken = default)
    {
        var result = await tools.RunAsync(
            "pg_ctl", ["promote", "-w", "-t", Seconds(ServerTimeout), "-D", DataDirectory], ServerTimeout + ProcessMargin, cancellationToken);
        if (!result.Succeeded)
        {
            throw new PostgresClusterException(
                $"{Name} was not promoted: {result.StandardError.Trim()}{Environment.NewLine}{LogFile.Section(Name, LogPath)}");
        }

        log($"{Name}: promoted");
    }

    public async Task<bool> IsInRecoveryAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT pg_is_in_recovery()", connection);
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public async Task<NpgsqlConnection> OpenConnectionAsync(CancellationToken cancellationToken = default)
    {
        var connection = new NpgsqlConnection(ConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    public string ReadLogTail(int lineCount = 50) => LogFile.ReadTail(LogPath, lineCount);

    /// <summary>
    /// Teardown: an immediate stop (which also frees shared memory), then SIGKILL for anything
    /// still running under this node's tag. Never throws; returns what it could not stop.
    /// </summary>
    internal async Task<string?> TerminateAsync()
    {
        Thaw();
        try
        {
            await StopAsync(PostgresStopMode.Immediate).WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (Exception e)
        {
            log($"{Name}: immediate stop failed ({e.Message}); killing it");
        }

        if (processes.RunningPostmasterPid is { } pid)
        {
            ProcessTable.Kill(pid);
        }

        var survivors = await processes.KillLeftoversAsync(TimeSpan.FromSeconds(5));
        return survivors.Count == 0 ? null : $"{Name}: processes {string.Join(", ", survivors)} survived SIGKILL.";
    }

    private static string Seconds(TimeSpan timeout) =>
        ((int)Math.Ceiling(timeout.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
}
