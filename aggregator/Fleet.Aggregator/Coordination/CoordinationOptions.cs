using Microsoft.Extensions.Options;

namespace Fleet.Aggregator.Coordination;

/// <summary>How aggregators of one region agree on who acts (configuration section "Coordination").</summary>
public sealed class CoordinationOptions
{
    public const string SectionName = "Coordination";

    /// <summary><see cref="CoordinationMode.None"/>: one aggregator, always the leader (the default).</summary>
    public CoordinationMode Mode { get; set; } = CoordinationMode.None;

    /// <summary>
    /// This aggregator's name among its peers (the leader key's value and the "leader" that followers report).
    /// Defaults to the host name.
    /// </summary>
    public string? Name { get; set; }

    /// <summary>Where agents and operators reach this aggregator's gRPC port, told to whoever asks a follower.</summary>
    public string? AdvertiseAddress { get; set; }

    public EtcdCoordinationOptions Etcd { get; set; } = new();
}

public enum CoordinationMode
{
    None,
    Etcd,
}

/// <summary>The etcd cluster that elects the leader (docs/aggregator.md, "Several aggregators").</summary>
public sealed class EtcdCoordinationOptions
{
    /// <summary>Client URLs of the etcd members, e.g. http://10.0.0.1:2379.</summary>
    public List<string> Endpoints { get; set; } = [];

    /// <summary>Keys live under {Prefix}/{region}/.</summary>
    public string Prefix { get; set; } = "/fleet";

    /// <summary>TTL of the etcd lease that holds the leader key: how long a dead leader keeps the region leaderless.</summary>
    public TimeSpan LeaseTtl { get; set; } = TimeSpan.FromSeconds(6);

    /// <summary>How often the leader renews its lease and checks its key; how often a follower looks for a vacancy.</summary>
    public TimeSpan RenewInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Deadline of each etcd request.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The leader stops acting this long before its lease could have expired on etcd, counted from the send time
    /// of the last renewal etcd confirmed: room for clock-rate drift and for a command already on its way.
    /// </summary>
    public TimeSpan StepDownMargin { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>PEM file of the CA that signed the etcd members' certificates (https endpoints).</summary>
    public string? CaFile { get; set; }

    /// <summary>PEM client certificate and key for etcd's client-certificate authentication.</summary>
    public string? CertificateFile { get; set; }

    public string? KeyFile { get; set; }
}

internal sealed class CoordinationOptionsValidator : IValidateOptions<CoordinationOptions>
{
    public ValidateOptionsResult Validate(string? name, CoordinationOptions options)
    {
        var errors = new List<string>();
        if (!Enum.IsDefined(options.Mode))
        {
            errors.Add($"Coordination:Mode must be None or Etcd (got {options.Mode}).");
        }

        if (options.Mode == CoordinationMode.Etcd)
        {
            ValidateEtcd(options.Etcd, errors);
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void ValidateEtcd(EtcdCoordinationOptions etcd, List<string> errors)
    {
        if (etcd.Endpoints.Count == 0)
        {
            errors.Add("Coordination:Etcd:Endpoints must list the etcd members' client URLs when Coordination:Mode is Etcd.");
        }

        foreach (var endpoint in etcd.Endpoints)
        {
            if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Port <= 0)
            {
                errors.Add($"Coordination:Etcd:Endpoints: '{endpoint}' is not an http:// or https:// URL with a port.");
            }
        }

        if (etcd.Endpoints.Any(e => e.StartsWith("https://", StringComparison.OrdinalIgnoreCase)) && etcd.Endpoints.Any(e => e.StartsWith("http://", StringComparison.OrdinalIgnoreCase)))
        {
            errors.Add("Coordination:Etcd:Endpoints mixes http:// and https://: all members are reached the same way.");
        }

        if (string.IsNullOrWhiteSpace(etcd.Prefix) || !etcd.Prefix.StartsWith('/') || etcd.Prefix.EndsWith('/'))
        {
            errors.Add($"Coordination:Etcd:Prefix must start with '/' and not end with one (got '{etcd.Prefix}').");
        }

        // etcd leases have whole seconds; below 2 s a single slow fsync on etcd costs the leadership.
        if (etcd.LeaseTtl < TimeSpan.FromSeconds(2) || etcd.LeaseTtl.Ticks % TimeSpan.TicksPerSecond != 0)
        {
            errors.Add($"Coordination:Etcd:LeaseTtl must be whole seconds, at least 00:00:02 (got {etcd.LeaseTtl}).");
        }

        if (etcd.RequestTimeout <= TimeSpan.Zero || etcd.RequestTimeout > etcd.RenewInterval)
        {
            errors.Add($"Coordination:Etcd:RequestTimeout must be positive and at most Coordination:Etcd:RenewInterval ({etcd.RenewInterval}) (got {etcd.RequestTimeout}).");
        }

        if (etcd.StepDownMargin <= TimeSpan.Zero)
        {
            errors.Add($"Coordination:Etcd:StepDownMargin must be positive (got {etcd.StepDownMargin}).");
        }

        // The leader must get at least two renewals in before it steps down, or one lost request deposes it.
        if (etcd.RenewInterval <= TimeSpan.Zero || (2 * etcd.RenewInterval) + etcd.StepDownMargin >= etcd.LeaseTtl)
        {
            errors.Add($"Coordination:Etcd: 2 × RenewInterval ({etcd.RenewInterval}) + StepDownMargin ({etcd.StepDownMargin}) must be less than LeaseTtl ({etcd.LeaseTtl}): " +
                       "a leader must have time for a second renewal before it steps down.");
        }

        if ((etcd.CertificateFile is null) != (etcd.KeyFile is null))
        {
            errors.Add("Coordination:Etcd:CertificateFile and Coordination:Etcd:KeyFile go together.");
        }

        foreach (var (key, path) in new[] { ("CaFile", etcd.CaFile), ("CertificateFile", etcd.CertificateFile), ("KeyFile", etcd.KeyFile) })
        {
            if (path is not null && !File.Exists(path))
            {
                errors.Add($"Coordination:Etcd:{key}: file '{path}' does not exist.");
            }
        }
    }
}
