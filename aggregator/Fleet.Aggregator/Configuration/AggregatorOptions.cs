namespace Fleet.Aggregator.Configuration;

/// <summary>
/// fleet-aggregator's settings, bound from the configuration root (JSON file given with --config, then
/// environment variables FLEET_AGGREGATOR_&lt;Section&gt;__&lt;Key&gt;). docs/aggregator.md lists every key.
/// The Alerts and Store sections have options classes of their own.
/// </summary>
public sealed class AggregatorOptions
{
    /// <summary>The region this aggregator serves; only agents of this region are admitted.</summary>
    public string Region { get; set; } = string.Empty;

    /// <summary>Name of this aggregator instance (defaults to the host name).</summary>
    public string InstanceId { get; set; } = Environment.MachineName;

    public AggregatorListenOptions Listen { get; set; } = new();

    public AggregatorTlsOptions Tls { get; set; } = new();

    public LinkOptions Link { get; set; } = new();
}

public sealed class AggregatorListenOptions
{
    /// <summary>gRPC (HTTP/2): AgentLink for agents, FleetService for operators.</summary>
    public string Grpc { get; set; } = "127.0.0.1:7300";

    /// <summary>HTTP/1.1: the dashboard, /api/v1 JSON and /metrics.</summary>
    public string Http { get; set; } = "127.0.0.1:8080";
}

public sealed class AggregatorTlsOptions
{
    public string? CertificateFile { get; set; }

    public string? KeyFile { get; set; }

    /// <summary>CA of agent and operator client certificates; with TLS on, clients must present one.</summary>
    public string? CaFile { get; set; }

    public bool Enabled => !string.IsNullOrEmpty(CertificateFile);
}

public sealed class LinkOptions
{
    /// <summary>How often agents are asked to report (sent in Welcome).</summary>
    public TimeSpan ReportInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>An agent silent this long is stale: its data is no longer current.</summary>
    public TimeSpan StaleAfter { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The first message of a stream must be a hello within this time.</summary>
    public TimeSpan HelloTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Largest message accepted from an agent, in bytes.</summary>
    public int MaxMessageBytes { get; set; } = 4 * 1024 * 1024;
}
