using Microsoft.Extensions.Options;

namespace Fleet.Aggregator.Failover;

/// <summary>Automatic failover settings (configuration section "Failover"); docs/failover.md explains each.</summary>
public sealed class FailoverOptions
{
    public const string SectionName = "Failover";

    public bool Enabled { get; set; } = true;

    /// <summary>The primary must be silent or report Postgres down this long before a failover is considered.</summary>
    public TimeSpan FailoverTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>Length of the primary lease granted with each report.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Added to a lease's end before a new primary may be promoted (clock-rate drift, fencing time).</summary>
    public TimeSpan DriftMargin { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A candidate further behind the old primary's last known position is not eligible, in bytes.</summary>
    public ulong MaximumLagOnFailover { get; set; } = 1024 * 1024;

    /// <summary>
    /// wal_sender_timeout and wal_receiver_timeout the agents set on PostgreSQL: a replica of a silent
    /// (partitioned, frozen, powered-off) primary stops saying "streaming" after this long, which is what
    /// detection rule 2 waits for. At most the failover timeout.
    /// </summary>
    public TimeSpan ReplicationTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>What every agent is told in its Welcome: its PostgreSQL's replication timeouts, and how long a
    /// primary's PostgreSQL may not answer before its agent kills it (the failover timeout).</summary>
    public Protos.V1.DetectionSettings ToDetectionSettings() => new()
    {
        ReplicationTimeout = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(ReplicationTimeout),
        UnresponsiveTimeout = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(FailoverTimeout),
    };
}

internal sealed class FailoverOptionsValidator : IValidateOptions<FailoverOptions>
{
    public ValidateOptionsResult Validate(string? name, FailoverOptions options)
    {
        var errors = new List<string>();
        if (options.FailoverTimeout < TimeSpan.FromMilliseconds(500))
        {
            errors.Add($"Failover:FailoverTimeout must be at least 00:00:00.5 (got {options.FailoverTimeout}).");
        }

        if (options.LeaseDuration < TimeSpan.FromMilliseconds(500))
        {
            errors.Add($"Failover:LeaseDuration must be at least 00:00:00.5 (got {options.LeaseDuration}).");
        }

        if (options.ReplicationTimeout < TimeSpan.FromSeconds(1) || options.ReplicationTimeout > options.FailoverTimeout)
        {
            errors.Add($"Failover:ReplicationTimeout must be between 00:00:01 and Failover:FailoverTimeout ({options.FailoverTimeout}) (got {options.ReplicationTimeout}): replicas must notice a silent primary before the failover timeout has passed.");
        }

        if (options.DriftMargin < TimeSpan.Zero)
        {
            errors.Add($"Failover:DriftMargin must not be negative (got {options.DriftMargin}).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
