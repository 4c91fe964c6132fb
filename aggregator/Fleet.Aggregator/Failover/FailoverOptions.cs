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

        if (options.DriftMargin < TimeSpan.Zero)
        {
            errors.Add($"Failover:DriftMargin must not be negative (got {options.DriftMargin}).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
