using Fleet.Protos.V1;
using Google.Protobuf.WellKnownTypes;

namespace Fleet.Agent.Metrics;

/// <summary>
/// Label values for enums and for strings PostgreSQL reports from a closed set. Anything outside the known
/// set becomes "other" (and an empty string "unknown"), so a label can never take unbounded values.
/// </summary>
internal static class MetricLabels
{
    public const string Other = "other";
    public const string Unknown = "unknown";

    public static readonly string[] StandbyStates = ["startup", "catchup", "streaming", "backup", "stopping"];
    public static readonly string[] SyncStates = ["async", "potential", "sync", "quorum"];
    public static readonly string[] SlotTypes = ["physical", "logical"];
    public static readonly string[] WalStatuses = ["reserved", "extended", "unreserved", "lost"];
    public static readonly string[] ArchiveModes = ["off", "on", "always"];
    public static readonly string[] WalReceiverStatuses = ["stopped", "starting", "streaming", "waiting", "restarting", "stopping"];

    public static string Role(NodeRole role) => role switch
    {
        NodeRole.Primary => "primary",
        NodeRole.Replica => "replica",
        _ => Unknown,
    };

    public static string State(PostgresState state) => state switch
    {
        PostgresState.Up => "up",
        PostgresState.Down => "down",
        PostgresState.Starting => "starting",
        PostgresState.Stopping => "stopping",
        PostgresState.Unreachable => "unreachable",
        PostgresState.Unresponsive => "unresponsive",
        _ => Unknown,
    };

    public static string Verdict(ArchiveVerdict verdict) => verdict switch
    {
        ArchiveVerdict.Ok => "ok",
        ArchiveVerdict.Warning => "warning",
        ArchiveVerdict.Failure => "failure",
        _ => Unknown,
    };

    /// <summary><paramref name="value"/> if it is one of <paramref name="known"/>, else "other" ("unknown" if empty).</summary>
    public static string Bounded(string value, string[] known)
    {
        if (string.IsNullOrEmpty(value))
        {
            return Unknown;
        }

        foreach (var candidate in known)
        {
            if (string.Equals(candidate, value, StringComparison.Ordinal))
            {
                return candidate;
            }
        }

        return Other;
    }

    /// <summary>Seconds since the Unix epoch, as Prometheus' <c>*_timestamp_seconds</c> convention wants.</summary>
    public static double UnixSeconds(Timestamp timestamp) => timestamp.Seconds + (timestamp.Nanos / 1e9);

    public static double Bool(bool value) => value ? 1 : 0;
}
