using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Fleet.Bench.Aggregator.Measurement;

namespace Fleet.Bench.Aggregator.Target;

/// <summary>The aggregator under test: where it listens and how to read its CPU and memory.</summary>
internal abstract class AggregatorTarget : IAsyncDisposable
{
    public const string Region = "bench-region";

    protected AggregatorTarget(AggregatorSettings settings)
    {
        Settings = settings;
    }

    public AggregatorSettings Settings { get; }

    public Uri GrpcAddress => new($"http://127.0.0.1:{Settings.GrpcPort}");

    public Uri HttpAddress => new($"http://127.0.0.1:{Settings.HttpPort}");

    /// <summary>"child process (pid N)" or "in process".</summary>
    public abstract string Description { get; }

    /// <summary>True when CPU and memory are the aggregator's alone (child process).</summary>
    public abstract bool Isolated { get; }

    public abstract int Pid { get; }

    public abstract string GcMode { get; }

    /// <summary>False once the aggregator has stopped or crashed.</summary>
    public abstract bool IsRunning { get; }

    public abstract CpuTime ReadCpu();

    public MemoryFigures? ReadMemory() => ProcStats.Memory(Pid);

    public abstract Task StartAsync(CancellationToken cancellationToken);

    public abstract ValueTask DisposeAsync();

    /// <summary>Polls GET /metrics until it answers 200.</summary>
    protected async Task WaitReadyAsync(Func<string?> failure, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (true)
        {
            if (failure() is { } reason)
            {
                throw new InvalidOperationException(reason);
            }

            try
            {
                using var response = await http.GetAsync(new Uri(HttpAddress, "/metrics"), cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the aggregator did not answer {HttpAddress}metrics within 90 s");
            }

            await Task.Delay(100, cancellationToken);
        }
    }
}

/// <summary>Ports, store path and options of the aggregator under test; written as its JSON configuration.</summary>
internal sealed record AggregatorSettings(int GrpcPort, int HttpPort, string StorePath, string LogLevel, int? MaxStreamsPerConnection, TimeSpan ReportInterval)
{
    /// <summary>Further keys (Coordination with --etcd).</summary>
    public IReadOnlyDictionary<string, string?> Extra { get; init; } = new Dictionary<string, string?>();

    public static AggregatorSettings Create(string tempDirectory, BenchOptions options) =>
        new(FreePort(), FreePort(), Path.Combine(tempDirectory, "fleet-aggregator.db"), options.LogLevel, options.MaxStreamsPerConnection, options.Interval);

    /// <summary>The settings as configuration keys (in-process overrides).</summary>
    public Dictionary<string, string?> ToKeys()
    {
        var keys = new Dictionary<string, string?>
        {
            ["Region"] = AggregatorTarget.Region,
            ["InstanceId"] = "bench-aggregator",
            ["Listen:Grpc"] = $"127.0.0.1:{GrpcPort}",
            ["Listen:Http"] = $"127.0.0.1:{HttpPort}",
            ["Store:Path"] = StorePath,
            ["Link:ReportInterval"] = ReportInterval.ToString("c", CultureInfo.InvariantCulture),
            ["Logging:LogLevel:Default"] = LogLevel,
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
        };
        if (MaxStreamsPerConnection is { } streams)
        {
            keys["Kestrel:Limits:Http2:MaxStreamsPerConnection"] = streams.ToString(CultureInfo.InvariantCulture);
        }

        foreach (var (key, value) in Extra)
        {
            keys[key] = value;
        }

        return keys;
    }

    /// <summary>Writes the settings as a nested JSON configuration file (what --config reads).</summary>
    public void WriteJson(string path)
    {
        var root = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (key, value) in ToKeys())
        {
            var parts = key.Split(':');
            var node = root;
            for (var i = 0; i < parts.Length - 1; i++)
            {
                if (!node.TryGetValue(parts[i], out var child) || child is not Dictionary<string, object?> dictionary)
                {
                    dictionary = new Dictionary<string, object?>(StringComparer.Ordinal);
                    node[parts[i]] = dictionary;
                }

                node = dictionary;
            }

            node[parts[^1]] = value;
        }

        using var stream = File.Create(path);
        using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        WriteObject(writer, root);
    }

    private static void WriteObject(Utf8JsonWriter writer, Dictionary<string, object?> node)
    {
        writer.WriteStartObject();
        foreach (var (key, value) in node)
        {
            writer.WritePropertyName(key);
            if (value is Dictionary<string, object?> child)
            {
                WriteObject(writer, child);
            }
            else
            {
                writer.WriteStringValue(value as string);
            }
        }

        writer.WriteEndObject();
    }

    /// <summary>A loopback port free right now (the kernel picks it; released before the aggregator binds it).</summary>
    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
