using Microsoft.Extensions.Options;

namespace Fleet.Agent.Configuration;

/// <summary>Checks every key at start-up and reports all problems at once, each naming its key.</summary>
internal sealed class AgentOptionsValidator : IValidateOptions<AgentOptions>
{
    private const long MinGen0Budget = 256 * 1024;
    private const long MaxGen0Budget = 256 * 1024 * 1024;
    private const long MinTrimGrowth = 1024 * 1024;
    private const long MaxTrimGrowth = 1024L * 1024 * 1024;
    private const int MinMmapThreshold = 4096;
    private const int MaxMmapThreshold = 32 * 1024 * 1024; // glibc's own upper bound on 64-bit (HEAP_MAX_SIZE / 2)
    private static readonly TimeSpan MinCompactInterval = TimeSpan.FromSeconds(10);

    public ValidateOptionsResult Validate(string? name, AgentOptions options)
    {
        var errors = new List<string>();
        Required(errors, "Node:Name", options.Node.Name);
        Required(errors, "Node:Cluster", options.Node.Cluster);
        Required(errors, "Node:Region", options.Node.Region);
        if (options.Node.CandidatePriority is < 0 or > 1000)
        {
            errors.Add($"Node:CandidatePriority must be between 0 and 1000 (got {options.Node.CandidatePriority}).");
        }

        Required(errors, "Postgres:Host", options.Postgres.Host);
        if (options.Postgres.Port is < 1 or > 65535)
        {
            errors.Add($"Postgres:Port must be between 1 and 65535 (got {options.Postgres.Port}).");
        }

        Required(errors, "Postgres:User", options.Postgres.User);
        if (options.Postgres.PasswordFile is { Length: > 0 } file && !File.Exists(file))
        {
            errors.Add($"Postgres:PasswordFile '{file}' does not exist.");
        }

        Positive(errors, "Postgres:ConnectTimeout", options.Postgres.ConnectTimeout);
        Positive(errors, "Postgres:StatementTimeout", options.Postgres.StatementTimeout);
        Positive(errors, "Postgres:LockTimeout", options.Postgres.LockTimeout);
        if (options.Postgres.StorageStallTimeout != TimeSpan.Zero && options.Postgres.StorageStallTimeout < TimeSpan.FromSeconds(1))
        {
            errors.Add($"Postgres:StorageStallTimeout must be zero (probe off) or at least 1 s (got {options.Postgres.StorageStallTimeout}): a flush of a few hundred milliseconds is not a stall.");
        }
        Positive(errors, "Collection:Interval", options.Collection.Interval);
        if (options.Collection.SlowInterval < options.Collection.Interval)
        {
            errors.Add("Collection:SlowInterval must not be shorter than Collection:Interval.");
        }

        if (options.Collection.TopTables is < 1 or > 100)
        {
            errors.Add($"Collection:TopTables must be between 1 and 100 (got {options.Collection.TopTables}).");
        }

        if (options.Postgres.StatementTimeout >= options.Collection.Interval * 5)
        {
            errors.Add("Postgres:StatementTimeout must be shorter than five collection intervals, or slow queries would stall reporting.");
        }

        for (var i = 0; i < options.Aggregator.Endpoints.Count; i++)
        {
            var endpoint = options.Aggregator.Endpoints[i];
            if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https"))
            {
                errors.Add($"Aggregator:Endpoints:{i} '{endpoint}' must be an absolute http:// or https:// URL.");
            }
        }

        if (options.Replication.Port is < 1 or > 65535)
        {
            errors.Add($"Replication:Port must be between 1 and 65535 (got {options.Replication.Port}).");
        }

        if (options.Replication.Host is { Length: > 0 } replicationHost && (replicationHost.StartsWith('/') || replicationHost.Any(char.IsWhiteSpace)))
        {
            errors.Add($"Replication:Host '{replicationHost}' must be a host name or IP address other nodes can reach, not a socket directory.");
        }
        else if (options.Aggregator.Endpoints.Count > 0 && string.IsNullOrWhiteSpace(options.Replication.Host) && options.Postgres.Host.StartsWith('/'))
        {
            errors.Add($"Replication:Host is required when Postgres:Host is a Unix socket directory ('{options.Postgres.Host}'): the other nodes " +
                       "stream from this node at Replication:Host, and 127.0.0.1 would point them at themselves.");
        }

        Positive(errors, "Aggregator:ReconnectMinDelay", options.Aggregator.ReconnectMinDelay);
        if (options.Aggregator.ReconnectMaxDelay < options.Aggregator.ReconnectMinDelay)
        {
            errors.Add("Aggregator:ReconnectMaxDelay must not be shorter than Aggregator:ReconnectMinDelay.");
        }

        Positive(errors, "Actions:Timeout", options.Actions.Timeout);
        if (options.Memory.Gen0Budget != 0 && options.Memory.Gen0Budget is < MinGen0Budget or > MaxGen0Budget)
        {
            errors.Add($"Memory:Gen0Budget must be 0 (the runtime's budget) or between {MinGen0Budget} and {MaxGen0Budget} bytes (got {options.Memory.Gen0Budget}).");
        }

        if (options.Memory.TrimGrowth != 0 && options.Memory.TrimGrowth is < MinTrimGrowth or > MaxTrimGrowth)
        {
            errors.Add($"Memory:TrimGrowth must be 0 (compact on schedule only) or between {MinTrimGrowth} and {MaxTrimGrowth} bytes (got {options.Memory.TrimGrowth}).");
        }

        if (options.Memory.MmapThreshold != 0 && options.Memory.MmapThreshold is < MinMmapThreshold or > MaxMmapThreshold)
        {
            errors.Add($"Memory:MmapThreshold must be 0 (glibc's default) or between {MinMmapThreshold} and {MaxMmapThreshold} bytes (got {options.Memory.MmapThreshold}).");
        }

        if (options.Memory.CompactInterval != TimeSpan.Zero && options.Memory.CompactInterval < MinCompactInterval)
        {
            errors.Add($"Memory:CompactInterval must be 00:00:00 (never) or at least {MinCompactInterval:c} (got {options.Memory.CompactInterval:c}).");
        }

        Endpoint(errors, "Listen:Grpc", options.Listen.Grpc);
        Endpoint(errors, "Listen:Http", options.Listen.Http);
        if (options.Tls.Enabled)
        {
            Exists(errors, "Tls:CertificateFile", options.Tls.CertificateFile);
            Exists(errors, "Tls:KeyFile", options.Tls.KeyFile);
            Exists(errors, "Tls:CaFile", options.Tls.CaFile);
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    internal static void Required(List<string> errors, string key, string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            errors.Add($"{key} is required.");
        }
    }

    internal static void Positive(List<string> errors, string key, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add($"{key} must be a positive duration (got {value}).");
        }
    }

    internal static void Endpoint(List<string> errors, string key, string value)
    {
        if (!Fleet.Hosting.ListenEndpoint.TryParse(value, out _))
        {
            errors.Add($"{key} '{value}' must be host:port with an IP address (e.g. 127.0.0.1:7400 or [::1]:7400).");
        }
    }

    private static void Exists(List<string> errors, string key, string? path)
    {
        if (string.IsNullOrEmpty(path))
        {
            errors.Add($"{key} is required when TLS is enabled.");
        }
        else if (!File.Exists(path))
        {
            errors.Add($"{key} '{path}' does not exist.");
        }
    }
}
