using System.Text.RegularExpressions;

namespace Fleet.LocalFleet.Postgres;

/// <summary>Which standbys the primary waits for on commit (synchronous_standby_names).</summary>
public enum SynchronousReplication
{
    /// <summary>Asynchronous streaming only.</summary>
    Off,

    /// <summary><c>FIRST 1 (node1, node2, ...)</c>: node1 is 'sync', the others 'potential'.</summary>
    FirstReplica,

    /// <summary><c>ANY 1 (node1, node2, ...)</c>: every standby is 'quorum'.</summary>
    AnyReplica,
}

/// <summary>Shape of a test cluster. Defaults give a primary with two asynchronous streaming replicas.</summary>
public sealed partial class PostgresClusterOptions
{
    public const int MaxReplicaCount = 8;

    /// <summary>Streaming replicas besides the primary; each gets its own physical replication slot.</summary>
    public int ReplicaCount { get; init; } = 2;

    public SynchronousReplication Synchronous { get; init; } = SynchronousReplication.Off;

    /// <summary>Copies every completed WAL segment into the cluster's archive directory.</summary>
    public bool ArchiveEnabled { get; init; } = true;

    /// <summary>
    /// Extra postgresql.conf settings, written after the fixture's own so they win. Values are quoted
    /// for you: <c>["work_mem"] = "8MB"</c>.
    /// </summary>
    public IReadOnlyDictionary<string, string> ExtraSettings { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// The primary's WAL in this directory instead of its pg_wal (initdb --waldir; pg_wal becomes a link), as
    /// when WAL lives on its own volume. Absolute; created by initdb (absent or empty). Replicas keep theirs.
    /// </summary>
    public string? PrimaryWalDirectory { get; init; }

    /// <summary>Bin directory to use; null means <see cref="PostgresInstallation.LocateAsync"/> decides.</summary>
    public string? BinDirectory { get; init; }

    /// <summary>Deadline for the whole start: initdb, base backups, and every replica streaming.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(90);

    /// <summary>Receives one line per start-up step (e.g. an xunit ITestOutputHelper.WriteLine).</summary>
    public Action<string>? Log { get; init; }

    /// <summary>Throws one <see cref="ArgumentException"/> naming every invalid option.</summary>
    public void Validate()
    {
        var errors = new List<string>();
        if (ReplicaCount is < 0 or > MaxReplicaCount)
        {
            errors.Add($"{nameof(ReplicaCount)} must be between 0 and {MaxReplicaCount}, was {ReplicaCount}.");
        }

        if (Synchronous != SynchronousReplication.Off && ReplicaCount < 1)
        {
            errors.Add($"{nameof(Synchronous)}={Synchronous} needs at least one replica.");
        }

        if (PrimaryWalDirectory is { } wal && !Path.IsPathFullyQualified(wal))
        {
            errors.Add($"{nameof(PrimaryWalDirectory)} must be an absolute path, was '{wal}'.");
        }

        if (StartTimeout <= TimeSpan.Zero)
        {
            errors.Add($"{nameof(StartTimeout)} must be positive, was {StartTimeout}.");
        }

        foreach (var (name, value) in ExtraSettings)
        {
            if (!SettingName().IsMatch(name))
            {
                errors.Add($"{nameof(ExtraSettings)} key '{name}' is not a setting name.");
            }

            if (value.Contains('\n', StringComparison.Ordinal) || value.Contains('\r', StringComparison.Ordinal))
            {
                errors.Add($"{nameof(ExtraSettings)}['{name}'] must be a single line.");
            }
        }

        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid PostgreSQL cluster options: " + string.Join(" ", errors));
        }
    }

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_.]*$")]
    private static partial Regex SettingName();
}
