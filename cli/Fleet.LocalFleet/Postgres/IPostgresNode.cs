using Npgsql;

namespace Fleet.LocalFleet.Postgres;

/// <summary>How <see cref="IPostgresNode.StopAsync"/> shuts a server down (pg_ctl -m).</summary>
public enum PostgresStopMode
{
    /// <summary>Roll back sessions and write a shutdown checkpoint: a clean stop.</summary>
    Fast,

    /// <summary>Quit without a checkpoint; the next start runs crash recovery.</summary>
    Immediate,
}

/// <summary>One PostgreSQL server of a test cluster: the primary ("node0") or a replica ("node1", ...).</summary>
public interface IPostgresNode
{
    /// <summary>"node0" for the initial primary, "node1".. for replicas; also its application_name and slot name.</summary>
    string Name { get; }

    string Host { get; }

    int Port { get; }

    /// <summary>Data directory, as seen by the tools <see cref="IPostgresCluster.RunPgToolAsync"/> runs.</summary>
    string DataDirectory { get; }

    /// <summary>Npgsql connection string for superuser postgres (trust auth, no pooling, so restarts and kills never leave stale pooled connections).</summary>
    string ConnectionString { get; }

    /// <summary>
    /// When set, <see cref="StartAsync"/> starts the server inside this network namespace (ip netns exec), where
    /// it is reached at the namespace's addresses, not <see cref="Host"/>. Used by the silent-failure harness.
    /// </summary>
    string? NetworkNamespace { get; set; }

    /// <summary>True while the postmaster recorded in postmaster.pid is alive.</summary>
    bool IsRunning { get; }

    /// <summary>Starts the server on the same port and waits until it accepts connections; no-op if running.</summary>
    Task StartAsync(CancellationToken cancellationToken = default);

    /// <summary>Stops the server and waits for the postmaster to exit; no-op if stopped.</summary>
    Task StopAsync(PostgresStopMode mode = PostgresStopMode.Fast, CancellationToken cancellationToken = default);

    /// <summary>
    /// SIGKILLs the postmaster, as a crash or OOM kill would, and waits until it is gone. Its children
    /// notice and exit on their own shortly after; <see cref="StartAsync"/> waits for them. Returns the pid killed.
    /// </summary>
    int KillPostmaster();

    /// <summary>
    /// SIGSTOPs the postmaster and every child, as a hypervisor pause or a storage stall would freeze them:
    /// sockets stay open, nothing answers, no RST is sent. Returns how many processes were stopped.
    /// <see cref="Thaw"/> resumes them (teardown thaws too).
    /// </summary>
    int Freeze();

    /// <summary>SIGCONTs what <see cref="Freeze"/> stopped (processes killed meanwhile are skipped).</summary>
    void Thaw();

    /// <summary>Promotes a standby (pg_ctl promote) and waits until it accepts writes.</summary>
    Task PromoteAsync(CancellationToken cancellationToken = default);

    /// <summary>pg_is_in_recovery(): true for a standby.</summary>
    Task<bool> IsInRecoveryAsync(CancellationToken cancellationToken = default);

    Task<NpgsqlConnection> OpenConnectionAsync(CancellationToken cancellationToken = default);

    /// <summary>The last <paramref name="lineCount"/> lines of the server log, for assertions and failure messages.</summary>
    string ReadLogTail(int lineCount = 50);
}
