using System.Globalization;
using Fleet.Bench.Rpc.Reporting;

namespace Fleet.Bench.Rpc;

/// <summary>Command-line settings of a benchmark run. Defaults are what bench/README.md reports.</summary>
internal sealed class BenchOptions
{
    public const string FleetProcess = "fleet";
    public const string FleetInProcess = "fleet-inproc";
    public const string Python = "python";
    public const string Unary = "unary";
    public const string Stream = "stream";

    public static readonly string[] KnownServers = [FleetProcess, FleetInProcess, Python];
    public static readonly string[] KnownScenarios = [Unary, Stream];

    /// <summary>Measured duration of each scenario.</summary>
    public TimeSpan Duration { get; private set; } = TimeSpan.FromSeconds(5);

    /// <summary>Minimum warm-up before each scenario (same load, not measured); it goes on until the JIT has settled.</summary>
    public TimeSpan Warmup { get; private set; } = TimeSpan.FromSeconds(2);

    /// <summary>Longest warm-up; a scenario measured before the JIT settled says so.</summary>
    public TimeSpan MaxWarmup { get; private set; } = TimeSpan.FromSeconds(20);

    /// <summary>Hard cap on measured unary calls per scenario (also sizes the latency buffer).</summary>
    public int MaxCalls { get; private set; } = 2_000_000;

    /// <summary>Hard cap on messages requested by one server stream (ExpandRequest.count).</summary>
    public int MaxMessages { get; private set; } = 5_000_000;

    /// <summary>Concurrent unary callers, one scenario each.</summary>
    public IReadOnlyList<int> Callers { get; private set; } = [1, 64];

    public IReadOnlyList<string> Servers { get; private set; } = [FleetProcess, Python];

    public IReadOnlyList<string> Scenarios { get; private set; } = [Unary, Stream];

    /// <summary>GrpcChannels (Fleet.Hosting GrpcChannels.ForAddress) the callers of a scenario are spread over (round robin).</summary>
    public int Channels { get; private set; } = 1;

    /// <summary>reply_payload_size (unary) and payload_size (stream) in bytes.</summary>
    public int PayloadSize { get; private set; }

    /// <summary>Per-call deadline; null sends none (the default, like most benchmarks).</summary>
    public TimeSpan? Deadline { get; private set; }

    public string? JsonPath { get; private set; }

    public string PythonPath { get; private set; } = "/usr/bin/python3";

    /// <summary>Repository root (for tests/interop/python/echo_server.py); found from the working directory when null.</summary>
    public string? RepoRoot { get; private set; }

    public static string Usage => $"""
        gRPC benchmark of Fleet's stack: {GrpcStack.Both} (loopback h2c on 127.0.0.1).

        usage: Fleet.Bench.Rpc [options]
               Fleet.Bench.Rpc serve            (internal: the Fleet server child process)

          --seconds N        measured duration of each scenario (default 5)
          --warmup N         minimum warm-up before each scenario, seconds (default 2); it continues in 1 s
                             slices until client and Fleet server compiled < 20 ms in a slice (JIT settled)
          --max-warmup N     longest warm-up, seconds (default 20)
          --max-calls N      hard cap on measured unary calls per scenario (default 2000000)
          --max-messages N   hard cap on messages of one server stream (default 5000000)
          --callers LIST     concurrent unary callers, one scenario each (default 1,64)
          --servers LIST     fleet (Grpc.AspNetCore server in a child process), fleet-inproc (same process
                             as the client), python (python3-grpcio) (default fleet,python)
          --scenarios LIST   unary, stream (default unary,stream)
          --channels N       GrpcChannels the callers are spread over (default 1)
          --payload N        reply payload bytes (unary reply_payload_size, stream payload_size; default 0)
          --deadline-ms N    per-call deadline (default: none)
          --json FILE        also write the results as JSON
          --python PATH      python with grpcio (default /usr/bin/python3)
          --repo DIR         repository root (default: found from the working directory)
        """;

    /// <summary>Parses <paramref name="args"/>; every problem found is reported, not just the first.</summary>
    public static BenchOptions Parse(IReadOnlyList<string> args, out IReadOnlyList<string> errors)
    {
        var options = new BenchOptions();
        var problems = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            string Value() => i + 1 < args.Count ? args[++i] : Fail($"{name} needs a value");
            string Fail(string message)
            {
                problems.Add(message);
                return string.Empty;
            }

            switch (name)
            {
                case "--seconds": options.Duration = Seconds(name, Value(), problems, allowZero: false); break;
                case "--warmup": options.Warmup = Seconds(name, Value(), problems, allowZero: true); break;
                case "--max-warmup": options.MaxWarmup = Seconds(name, Value(), problems, allowZero: true); break;
                case "--max-calls": options.MaxCalls = Int(name, Value(), 1, 50_000_000, problems); break;
                case "--max-messages": options.MaxMessages = Int(name, Value(), 1, int.MaxValue, problems); break;
                case "--callers": options.Callers = List(name, Value(), problems).Select(c => Int(name, c, 1, 4096, problems)).ToArray(); break;
                case "--servers": options.Servers = Names(name, Value(), KnownServers, problems); break;
                case "--scenarios": options.Scenarios = Names(name, Value(), KnownScenarios, problems); break;
                case "--channels": options.Channels = Int(name, Value(), 1, 64, problems); break;
                case "--payload": options.PayloadSize = Int(name, Value(), 0, 1 << 20, problems); break;
                case "--deadline-ms": options.Deadline = TimeSpan.FromMilliseconds(Int(name, Value(), 1, 3_600_000, problems)); break;
                case "--json": options.JsonPath = Value(); break;
                case "--python": options.PythonPath = Value(); break;
                case "--repo": options.RepoRoot = Value(); break;
                default: problems.Add($"unknown option '{name}'"); break;
            }
        }

        if (options.MaxWarmup < options.Warmup)
        {
            problems.Add($"--max-warmup ({options.MaxWarmup.TotalSeconds} s) is shorter than --warmup ({options.Warmup.TotalSeconds} s)");
        }

        errors = problems;
        return options;
    }

    private static TimeSpan Seconds(string name, string text, List<string> problems, bool allowZero)
    {
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) || seconds < 0 || (!allowZero && seconds == 0) || seconds > 3600)
        {
            problems.Add($"{name}: '{text}' is not a number of seconds in {(allowZero ? "[0" : "(0")}, 3600]");
            return TimeSpan.Zero;
        }

        return TimeSpan.FromSeconds(seconds);
    }

    private static int Int(string name, string text, int min, int max, List<string> problems)
    {
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            problems.Add($"{name}: '{text}' is not an integer in [{min}, {max}]");
        }

        return value;
    }

    private static string[] List(string name, string text, List<string> problems)
    {
        var items = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (items.Length == 0)
        {
            problems.Add($"{name}: empty list");
        }

        return items;
    }

    private static string[] Names(string name, string text, string[] known, List<string> problems)
    {
        var items = List(name, text, problems);
        foreach (var item in items.Where(i => !known.Contains(i, StringComparer.Ordinal)))
        {
            problems.Add($"{name}: unknown '{item}' (known: {string.Join(", ", known)})");
        }

        return items.Distinct(StringComparer.Ordinal).ToArray();
    }
}
