using System.Text.Json;
using Fleet.Bench.Rpc.Measurement;
using Fleet.Bench.Rpc.Scenarios;

namespace Fleet.Bench.Rpc.Reporting;

/// <summary>The results as JSON (--json FILE), for scripts that compare runs. Times in seconds, latencies in microseconds.</summary>
internal static class JsonReport
{
    public static void Write(string path, RunInfo info, BenchOptions options, IReadOnlyList<(string Name, string Description)> servers, IReadOnlyList<ScenarioResult> results)
    {
        using var stream = File.Create(path);
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("started_utc", info.StartedUtc);
        json.WriteString("command", info.CommandLine);
        json.WriteString("stack", info.Stack);
        json.WriteStartObject("machine");
        json.WriteNumber("cores", info.Cores);
        json.WriteString("cpu", info.CpuModel);
        json.WriteString("os", info.Os);
        json.WriteEndObject();
        json.WriteStartObject("runtime");
        json.WriteString("framework", info.Runtime);
        json.WriteString("build", info.Build);
        json.WriteString("gc", info.Gc);
        json.WriteString("jit", info.Jit);
        json.WriteStartArray("environment");
        foreach (var variable in info.RuntimeEnvironment)
        {
            json.WriteStringValue(variable);
        }

        json.WriteEndArray();
        json.WriteEndObject();
        json.WriteStartObject("settings");
        json.WriteNumber("seconds", options.Duration.TotalSeconds);
        json.WriteNumber("warmup_seconds", options.Warmup.TotalSeconds);
        json.WriteNumber("max_warmup_seconds", options.MaxWarmup.TotalSeconds);
        json.WriteNumber("max_calls", options.MaxCalls);
        json.WriteNumber("max_messages", options.MaxMessages);
        json.WriteNumber("channels", options.Channels);
        json.WriteNumber("payload_size", options.PayloadSize);
        if (options.Deadline is { } deadline)
        {
            json.WriteNumber("deadline_ms", deadline.TotalMilliseconds);
        }

        json.WriteEndObject();
        json.WriteStartObject("servers");
        foreach (var (name, description) in servers)
        {
            json.WriteString(name, description);
        }

        json.WriteEndObject();
        json.WriteStartArray("results");
        foreach (var r in results)
        {
            WriteResult(json, r);
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void WriteResult(Utf8JsonWriter json, ScenarioResult r)
    {
        json.WriteStartObject();
        json.WriteString("server", r.Server);
        json.WriteString("scenario", r.Scenario);
        json.WriteNumber("concurrency", r.Concurrency);
        json.WriteNumber("count", r.Count);
        json.WriteNumber("seconds", r.Seconds);
        json.WriteNumber("warmup_seconds", r.Warmup.Duration.TotalSeconds);
        json.WriteBoolean("warmup_jit_settled", r.Warmup.Settled);
        json.WriteNumber("per_second", r.PerSecond);
        json.WriteBoolean("capped", r.Capped);
        json.WriteNumber("errors", r.Errors);
        if (r.FirstError is { } error)
        {
            json.WriteString("first_error", error);
        }

        if (r.Latency is { } l)
        {
            json.WriteStartObject("latency_us");
            json.WriteNumber("mean", l.MeanUs);
            json.WriteNumber("p50", l.P50Us);
            json.WriteNumber("p90", l.P90Us);
            json.WriteNumber("p99", l.P99Us);
            json.WriteNumber("max", l.MaxUs);
            json.WriteEndObject();
        }

        WriteCpu(json, "client_cpu", r.Cpu.Client);
        if (r.Cpu.Server is { } server)
        {
            WriteCpu(json, "server_cpu", server);
        }

        if (r.Cpu.OtherProcesses is { } other)
        {
            json.WriteNumber("other_cpu_s", other.TotalSeconds);
        }

        if (r.Cpu.Steal is { } steal)
        {
            json.WriteNumber("steal_s", steal.TotalSeconds);
        }

        json.WriteNumber("cpu_us_per_op", r.CpuMicrosPerItem);
        json.WriteNumber("client_allocated_bytes", r.Cpu.ClientAllocatedBytes);
        json.WriteNumber("client_jit_ms", r.Cpu.ClientJitTime.TotalMilliseconds);
        if (r.Cpu.ServerJitTime is { } serverJit)
        {
            json.WriteNumber("server_jit_ms", serverJit.TotalMilliseconds);
        }

        json.WriteStartArray("client_gc_collections");
        foreach (var count in r.Cpu.ClientCollections)
        {
            json.WriteNumberValue(count);
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void WriteCpu(Utf8JsonWriter json, string name, CpuTime cpu)
    {
        json.WriteStartObject(name);
        json.WriteNumber("user_s", cpu.User.TotalSeconds);
        json.WriteNumber("sys_s", cpu.System.TotalSeconds);
        json.WriteEndObject();
    }
}
