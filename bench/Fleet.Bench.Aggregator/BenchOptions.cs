using System.Globalization;

namespace Fleet.Bench.Aggregator;

/// <summary>Command-line settings of one run. Defaults are the target bench/README.md reports against.</summary>
internal sealed class BenchOptions
{
    /// <summary>Simulated agents (nodes), each one AgentLink.Connect stream.</summary>
    public int Agents { get; private set; } = 5000;

    /// <summary>Measured window.</summary>
    public TimeSpan Duration { get; private set; } = TimeSpan.FromSeconds(30);

    /// <summary>Agents connect evenly over this time.</summary>
    public TimeSpan Ramp { get; private set; } = TimeSpan.FromSeconds(10);

    /// <summary>Steady load after the ramp before the measured window starts.</summary>
    public TimeSpan Warmup { get; private set; } = TimeSpan.FromSeconds(10);

    /// <summary>Report interval of every agent.</summary>
    public TimeSpan Interval { get; private set; } = TimeSpan.FromSeconds(1);

    /// <summary>After the window, how long the watch may still deliver reports sent inside it.</summary>
    public TimeSpan Grace { get; private set; } = TimeSpan.FromSeconds(3);

    /// <summary>Nodes per cluster: one primary, the rest its streaming replicas.</summary>
    public int ClusterSize { get; private set; } = 3;

    /// <summary>Agents per GrpcChannel (one HTTP/2 connection holds at most the server's MAX_CONCURRENT_STREAMS).</summary>
    public int AgentsPerChannel { get; private set; } = 100;

    public bool InProcess { get; private set; }

    /// <summary>Open the FleetService.Watch that measures report-to-visible latency.</summary>
    public bool Watch { get; private set; } = true;

    /// <summary>Extra region-wide watches without snapshots (dashboards); they only count what they receive.</summary>
    public int DashboardWatches { get; private set; }

    /// <summary>fleet-aggregator.dll to run; null means the repository's Release build (built first unless --no-build).</summary>
    public string? AggregatorDll { get; private set; }

    public bool NoBuild { get; private set; }

    /// <summary>Kestrel:Limits:Http2:MaxStreamsPerConnection written into the aggregator's configuration; null keeps Kestrel's default (100).</summary>
    public int? MaxStreamsPerConnection { get; private set; }

    /// <summary>Run the aggregator in Coordination:Mode Etcd (as the elected leader) on a three-member etcd the benchmark starts.</summary>
    public bool Etcd { get; private set; }

    /// <summary>The aggregator's Logging:LogLevel:Default.</summary>
    public string LogLevel { get; private set; } = "Information";

    public string? JsonPath { get; private set; }

    public string? RepoRoot { get; private set; }

    /// <summary>Keep the temporary directory (configuration, store, aggregator log) after the run.</summary>
    public bool KeepTemp { get; private set; }

    /// <summary>Target: p99 report-to-visible latency.</summary>
    public TimeSpan TargetP99 { get; private set; } = TimeSpan.FromMilliseconds(250);

    public static string Usage => """
        Fleet aggregator load benchmark: simulated agents (real AgentLink streams over Grpc.Net.Client, loopback only)
        against one fleet-aggregator; measures ingest rate, aggregator CPU and memory, and report-to-visible
        latency through FleetService.Watch.

        usage: Fleet.Bench.Aggregator [options]

          --agents N              simulated agents, one stream each (default 5000)
          --seconds S             measured window (default 30)
          --ramp S                connect the agents evenly over S seconds (default 10)
          --warmup S              steady load after the ramp before measuring (default 10)
          --interval S            report interval of every agent, e.g. 1 or 1s or 500ms (default 1s)
          --grace S               after the window, wait this long for late watch changes (default 3)
          --cluster-size N        nodes per cluster: 1 primary + N-1 replicas (default 3)
          --agents-per-channel N  agents sharing one GrpcChannel (default 100)
          --in-process            host the aggregator in this process (AggregatorHost.Build) instead of
                                  a child process; its CPU then cannot be told apart from the generator's
          --aggregator-dll PATH   fleet-aggregator.dll to run (default: the repository's Release build)
          --no-build              do not build the aggregator first
          --etcd                  Coordination:Mode Etcd: start a three-member etcd on loopback (Debian's etcd-server)
                                  and run the aggregator as its region's elected leader
          --max-streams N         Kestrel:Limits:Http2:MaxStreamsPerConnection in the aggregator config
                                  (default: not set, Kestrel's 100)
          --log-level LEVEL       aggregator Logging:LogLevel:Default (default Information)
          --no-watch              no latency watch (ingest only)
          --dashboard-watches N   extra region-wide watches without snapshots (default 0)
          --target-p99-ms N       p99 report-to-visible target (default 250)
          --json FILE             also write the results as JSON
          --repo DIR              repository root (default: found from the working directory)
          --keep-temp             keep the temporary directory (config, store, aggregator log)
        """;

    public static BenchOptions Parse(IReadOnlyList<string> args, out IReadOnlyList<string> errors)
    {
        var options = new BenchOptions();
        var problems = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            string Value()
            {
                if (i + 1 < args.Count)
                {
                    return args[++i];
                }

                problems.Add($"{name} needs a value");
                return string.Empty;
            }

            switch (name)
            {
                case "--agents": options.Agents = Int(name, Value(), 1, 100_000, problems); break;
                case "--seconds": options.Duration = Time(name, Value(), problems, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1)); break;
                case "--ramp": options.Ramp = Time(name, Value(), problems, TimeSpan.Zero, TimeSpan.FromMinutes(10)); break;
                case "--warmup": options.Warmup = Time(name, Value(), problems, TimeSpan.Zero, TimeSpan.FromMinutes(10)); break;
                case "--interval": options.Interval = Time(name, Value(), problems, TimeSpan.FromMilliseconds(50), TimeSpan.FromMinutes(1)); break;
                case "--grace": options.Grace = Time(name, Value(), problems, TimeSpan.Zero, TimeSpan.FromMinutes(1)); break;
                case "--cluster-size": options.ClusterSize = Int(name, Value(), 1, 16, problems); break;
                case "--agents-per-channel": options.AgentsPerChannel = Int(name, Value(), 1, 100_000, problems); break;
                case "--in-process": options.InProcess = true; break;
                case "--aggregator-dll": options.AggregatorDll = Value(); break;
                case "--no-build": options.NoBuild = true; break;
                case "--etcd": options.Etcd = true; break;
                case "--max-streams": options.MaxStreamsPerConnection = Int(name, Value(), 1, 100_000, problems); break;
                case "--log-level": options.LogLevel = Value(); break;
                case "--no-watch": options.Watch = false; break;
                case "--dashboard-watches": options.DashboardWatches = Int(name, Value(), 0, 64, problems); break;
                case "--target-p99-ms": options.TargetP99 = TimeSpan.FromMilliseconds(Int(name, Value(), 1, 600_000, problems)); break;
                case "--json": options.JsonPath = Value(); break;
                case "--repo": options.RepoRoot = Value(); break;
                case "--keep-temp": options.KeepTemp = true; break;
                default: problems.Add($"unknown option '{name}'"); break;
            }
        }

        if (options.InProcess && options.AggregatorDll is not null)
        {
            problems.Add("--aggregator-dll runs a child process; it cannot be combined with --in-process");
        }

        errors = problems;
        return options;
    }

    /// <summary>Seconds ("1", "1.5", "1s") or milliseconds ("500ms").</summary>
    private static TimeSpan Time(string name, string text, List<string> problems, TimeSpan min, TimeSpan max)
    {
        var scale = 1.0;
        var number = text;
        if (text.EndsWith("ms", StringComparison.Ordinal))
        {
            scale = 0.001;
            number = text[..^2];
        }
        else if (text.EndsWith('s'))
        {
            number = text[..^1];
        }

        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
        {
            problems.Add($"{name}: '{text}' is not a duration (seconds, or e.g. 500ms)");
            return min;
        }

        var result = TimeSpan.FromSeconds(value * scale);
        if (result < min || result > max)
        {
            problems.Add($"{name}: '{text}' is outside [{min.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s, {max.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s]");
            return min;
        }

        return result;
    }

    private static int Int(string name, string text, int min, int max, List<string> problems)
    {
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            problems.Add($"{name}: '{text}' is not an integer in [{min}, {max}]");
        }

        return value;
    }
}
