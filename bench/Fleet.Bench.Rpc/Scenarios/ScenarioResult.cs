using Fleet.Bench.Rpc.Measurement;

namespace Fleet.Bench.Rpc.Scenarios;

/// <summary>What one measured scenario produced.</summary>
internal sealed record ScenarioResult
{
    public required string Server { get; init; }

    /// <summary>unary or stream.</summary>
    public required string Scenario { get; init; }

    /// <summary>Concurrent callers (unary) or streams (1).</summary>
    public required int Concurrency { get; init; }

    /// <summary>Successful calls (unary) or messages received (stream) in the measured window.</summary>
    public required long Count { get; init; }

    public required double Seconds { get; init; }

    public double PerSecond => Seconds > 0 ? Count / Seconds : 0;

    public required WarmupResult Warmup { get; init; }

    public LatencySummary? Latency { get; init; }

    /// <summary>
    /// CPU of the benchmark process (client; client and server for fleet-inproc), of the server process
    /// (null when in process) and of the rest of the machine during the measured window.
    /// </summary>
    public required CpuUsage Cpu { get; init; }

    public long Errors { get; init; }

    public string? FirstError { get; init; }

    /// <summary>The measured window ended on the count cap, not on time.</summary>
    public bool Capped { get; init; }

    /// <summary>Total CPU (both processes) per call or message, in microseconds.</summary>
    public double CpuMicrosPerItem => Count > 0 ? Cpu.Ours.TotalMicroseconds / Count : 0;
}
