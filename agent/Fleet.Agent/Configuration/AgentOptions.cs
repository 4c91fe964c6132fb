namespace Fleet.Agent.Configuration;

/// <summary>
/// Everything fleet-agent is configured with, bound from the configuration root (JSON file given with
/// --config, then environment variables FLEET_AGENT_&lt;Section&gt;__&lt;Key&gt;). docs/agent.md lists every key.
/// </summary>
public sealed class AgentOptions
{
    public NodeOptions Node { get; set; } = new();

    public PostgresOptions Postgres { get; set; } = new();

    public ReplicationOptions Replication { get; set; } = new();

    public ArchiveOptions Archive { get; set; } = new();

    public AggregatorLinkOptions Aggregator { get; set; } = new();

    public AgentListenOptions Listen { get; set; } = new();

    public TlsFileOptions Tls { get; set; } = new();

    public CollectionOptions Collection { get; set; } = new();

    public ActionOptions Actions { get; set; } = new();

    public MemoryOptions Memory { get; set; } = new();
}

/// <summary>Who this node is. Name, Cluster and Region are required.</summary>
public sealed class NodeOptions
{
    /// <summary>Unique node name within the cluster; also its application_name on replicas.</summary>
    public string Name { get; set; } = string.Empty;

    public string Cluster { get; set; } = string.Empty;

    /// <summary>The node's region; the aggregator admits only agents of its own region.</summary>
    public string Region { get; set; } = string.Empty;

    public string Zone { get; set; } = string.Empty;

    /// <summary>Never choose this node as a failover candidate.</summary>
    public bool NoFailover { get; set; }

    /// <summary>Higher is preferred among equally caught-up candidates (0..1000).</summary>
    public int CandidatePriority { get; set; } = 100;

    /// <summary>
    /// Where the agent keeps what must survive restarts (the highest epoch seen). Empty means
    /// "fleet-agent-&lt;node&gt;" beside Postgres:DataDirectory.
    /// </summary>
    public string StateDirectory { get; set; } = string.Empty;

    /// <summary>The state directory in effect; null when neither it nor a data directory is configured.</summary>
    public string? ResolveStateDirectory(string? dataDirectory) =>
        StateDirectory.Length > 0 ? StateDirectory
        : dataDirectory is { Length: > 0 } ? Path.Combine(Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(dataDirectory)) ?? "/", $"fleet-agent-{Name}")
        : null;
}

/// <summary>How the agent reaches its local PostgreSQL.</summary>
public sealed class PostgresOptions
{
    /// <summary>Host name, IP address, or Unix socket directory (starts with '/').</summary>
    public string Host { get; set; } = "/var/run/postgresql";

    public int Port { get; set; } = 5432;

    public string User { get; set; } = "postgres";

    public string Database { get; set; } = "postgres";

    /// <summary>Name of an environment variable holding the password (never the password itself).</summary>
    public string? PasswordEnvironmentVariable { get; set; }

    /// <summary>A file whose first line is the password.</summary>
    public string? PasswordFile { get; set; }

    /// <summary>The data directory (pg_controldata, pg_rewind, standby.signal).</summary>
    public string? DataDirectory { get; set; }

    /// <summary>Directory of the server binaries (pg_ctl, pg_rewind, pg_controldata).</summary>
    public string? BinDirectory { get; set; }

    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>statement_timeout of the agent's session: no collection query may run longer.</summary>
    public TimeSpan StatementTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>lock_timeout of the agent's session: size functions must not queue behind DDL.</summary>
    public TimeSpan LockTimeout { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Set wal_sender_timeout, wal_receiver_timeout, wal_receiver_status_interval and wal_retrieve_retry_interval
    /// (ALTER SYSTEM, reload) to what the aggregator's failure detection needs; false only checks them and
    /// reports a problem (docs/failover.md, "Detection").
    /// </summary>
    public bool ManageReplicationTimeouts { get; set; } = true;

    /// <summary>
    /// A write and fsync of the agent's probe file in the data directory (and in pg_wal when it is a link to
    /// another volume) still outstanding after this long is a storage stall: PostgreSQL is reported
    /// unresponsive, and a primary with replicas is killed so one can take over. Zero turns the probe off.
    /// </summary>
    public TimeSpan StorageStallTimeout { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// Where the other nodes reach this node's PostgreSQL (streaming replication after a Follow or Rejoin,
/// pg_rewind), sent to the aggregator in the hello. Separate from Postgres:Host, which is how the agent
/// itself connects: in a sidecar that is usually a Unix socket no other host can use.
/// </summary>
public sealed class ReplicationOptions
{
    /// <summary>Host name or IP address of this node for its peers; default Postgres:Host when that is not a socket directory.</summary>
    public string? Host { get; set; }

    /// <summary>Port of this node for its peers; default Postgres:Port.</summary>
    public int? Port { get; set; }

    /// <summary>The advertised address in effect (Host, or Postgres:Host when it is a network address; else 127.0.0.1).</summary>
    public (string Host, int Port) Resolve(PostgresOptions postgres)
    {
        ArgumentNullException.ThrowIfNull(postgres);
        var host = !string.IsNullOrWhiteSpace(Host) ? Host : postgres.Host.StartsWith('/') ? "127.0.0.1" : postgres.Host;
        return (host, Port ?? postgres.Port);
    }
}

/// <summary>The WAL archive the node writes to.</summary>
public sealed class ArchiveOptions
{
    /// <summary>Directory archive_command copies segments into; empty when the node has no archive.</summary>
    public string? Location { get; set; }

    /// <summary>Region the archive storage lives in; a value other than Node:Region is a critical finding.</summary>
    public string? Region { get; set; }
}

/// <summary>Where and how the agent dials its aggregator.</summary>
public sealed class AggregatorLinkOptions
{
    /// <summary>Aggregator gRPC endpoints (http:// or https://), tried in order; empty runs the agent standalone.</summary>
    public List<string> Endpoints { get; set; } = [];

    public TimeSpan ReconnectMinDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>Local listeners.</summary>
public sealed class AgentListenOptions
{
    /// <summary>AgentService (gRPC, HTTP/2) address, host:port.</summary>
    public string Grpc { get; set; } = "127.0.0.1:7400";

    /// <summary>HTTP/1.1 address for /metrics and the role checks (Patroni's REST port, so HAProxy configs keep working).</summary>
    public string Http { get; set; } = "0.0.0.0:8008";
}

/// <summary>PEM files for TLS; all empty means cleartext (development only).</summary>
public sealed class TlsFileOptions
{
    public string? CertificateFile { get; set; }

    public string? KeyFile { get; set; }

    /// <summary>CA that issued the aggregator's and operators' certificates.</summary>
    public string? CaFile { get; set; }

    public bool Enabled => !string.IsNullOrEmpty(CertificateFile);
}

/// <summary>Collection cadence.</summary>
public sealed class CollectionOptions
{
    /// <summary>How often a snapshot is collected and reported.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often expensive, slow-changing figures (sizes, bloat, dead tuples) are refreshed.</summary>
    public TimeSpan SlowInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How many tables the dead-tuple and bloat report keeps (the largest ones).</summary>
    public int TopTables { get; set; } = 10;
}

/// <summary>Role-changing actions asked for through AgentService (Promote, Fence, Follow, Rejoin).</summary>
public sealed class ActionOptions
{
    /// <summary>How long an operator's action may run when the call carries no deadline; the call's deadline wins when it has one.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(5);
}

/// <summary>
/// How the agent keeps its managed heap small (see Memory/HeapTrimPolicy). The runtime sizes a workstation
/// GC's allocation budget from the CPU cache (16 MB on a 32 MB L3), so a sidecar that allocates a little
/// each second would otherwise grow that much before its first collection.
/// </summary>
public sealed class MemoryOptions
{
    /// <summary>Bytes allocated since the last gen0 collection after which the agent asks for one; 0 leaves it to the runtime.</summary>
    public long Gen0Budget { get; set; } = 1024 * 1024;

    /// <summary>How often a full, compacting collection returns free heap and native memory to the OS; zero disables it.</summary>
    public TimeSpan CompactInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Growth of resident memory since the last compaction that brings the next one forward; 0: on schedule only.</summary>
    public long TrimGrowth { get; set; } = 4 * 1024 * 1024;

    /// <summary>Native (malloc) blocks from this size up are unmapped as soon as they are freed (glibc); 0 keeps glibc's default.</summary>
    public int MmapThreshold { get; set; } = 64 * 1024;
}
