using System.Globalization;

namespace Fleet.Bench.Metrics;

/// <summary>Command-line options; every count is bounded so a run always ends.</summary>
internal sealed record BenchOptions
{
    public const string Writer = "writer";
    public const string WriterBuffer = "writer-buffer";
    public const string WriterModel = "writer-model";
    public const string PrometheusNet = "prometheus-net";
    public const string PrometheusNetCached = "prometheus-net-cached";

    public static readonly string[] AllScenarios = [Writer, WriterBuffer, WriterModel, PrometheusNet, PrometheusNetCached];

    public const string Usage = """
        fleet-bench-metrics: the agent's /metrics writer against prometheus-net 8 for the same series.

        Renders one generated primary's snapshot (PostgreSQL 17, every section present) N times per round
        with each implementation, each scenario in a fresh child process of this executable, and prints
        CPU and wall time per scrape, bytes allocated per scrape and the resident memory the metric state
        costs, the ratio prometheus-net / writer and the decision of the rule (keep the writer only where
        prometheus-net costs > 2x the CPU per scrape or > 3 MB of resident memory).

        Usage: fleet-bench-metrics [options]
          --iterations N      scrapes per measured round (default 2000; 1..1000000)
          --rounds N          measured rounds per scenario; the median round is reported (default 5; 1..100)
          --repeat N          child processes per scenario and context, interleaved (default 2; 1..20)
          --warmup N          scrapes before measuring, for tiered JIT (default 1000; 0..1000000)
          --series-scale X    multiplies databases, top tables and settings (default 1; 0.05..20)
          --databases N       databases before scaling (default 5)
          --top-tables N      top tables before scaling (default 10; the agent caps them at 100)
          --standbys N        standbys (default 2)
          --slots N           replication slots (default 3)
          --settings N        numeric/boolean settings before scaling (default 248, PostgreSQL 15's count)
          --scenarios LIST    comma-separated (default: all):
                                writer                 AgentMetricsWriter.Write into a PipeWriter over a reused MemoryStream, then FlushAsync (as GET /metrics)
                                writer-buffer          the same into a reused ArrayBufferWriter (no pipe; the writer alone)
                                writer-model           PrometheusTextWriter fed from the parsed family model that prometheus-net replays (same input
                                                       as prometheus-net, no snapshot reading), into the same pipe as writer
                                prometheus-net         registry built once; per scrape WithLabels(...).Set/IncTo for every series, then CollectAndExportAsTextAsync
                                prometheus-net-cached  the same with each series' child looked up once (only possible while the series never change)
          --contexts LIST     comma-separated: bare, agent, agent+prometheus-net (default: all): what the process
                              holds before the memory marks (ProcessContext.cs); agent+prometheus-net is fleet-agent now
          --scenario NAME     run one scenario in this process and print its result as JSON (used for the child processes)
          --context NAME      the context of that one scenario (default agent)
          --help              this text
        """;

    public int Iterations { get; init; } = 2000;

    public int Rounds { get; init; } = 5;

    public int Warmup { get; init; } = 1000;

    public int Repeat { get; init; } = 2;

    public double SeriesScale { get; init; } = 1.0;

    public int Databases { get; init; } = 5;

    public int TopTables { get; init; } = 10;

    public int Standbys { get; init; } = 2;

    public int Slots { get; init; } = 3;

    public int Settings { get; init; } = 248;

    public IReadOnlyList<string> Scenarios { get; init; } = AllScenarios;

    public IReadOnlyList<string> Contexts { get; init; } = ProcessContext.All;

    /// <summary>Set in a child process: the one scenario to run.</summary>
    public string? Scenario { get; init; }

    /// <summary>The context of a child process's scenario.</summary>
    public string Context { get; init; } = ProcessContext.Agent;

    public bool Help { get; init; }

    public SnapshotShape Shape => new(
        Scaled(Databases),
        Math.Min(100, Scaled(TopTables)),
        Standbys,
        Slots,
        Math.Min(1000, Scaled(Settings)));

    /// <summary>The options a child process gets (the same workload, one scenario).</summary>
    public IEnumerable<string> ChildArguments(string scenario, string context) =>
    [
        "--scenario", scenario,
        "--context", context,
        "--iterations", Text(Iterations),
        "--rounds", Text(Rounds),
        "--warmup", Text(Warmup),
        "--series-scale", SeriesScale.ToString("R", CultureInfo.InvariantCulture),
        "--databases", Text(Databases),
        "--top-tables", Text(TopTables),
        "--standbys", Text(Standbys),
        "--slots", Text(Slots),
        "--settings", Text(Settings),
    ];

    public static BenchOptions Parse(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var options = new BenchOptions();
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{arg} needs a value");
            options = arg switch
            {
                "--help" or "-h" or "-?" => options with { Help = true },
                "--iterations" => options with { Iterations = Int(arg, Value(), 1, 1_000_000) },
                "--rounds" => options with { Rounds = Int(arg, Value(), 1, 100) },
                "--warmup" => options with { Warmup = Int(arg, Value(), 0, 1_000_000) },
                "--repeat" => options with { Repeat = Int(arg, Value(), 1, 20) },
                "--series-scale" => options with { SeriesScale = Double(arg, Value(), 0.05, 20) },
                "--databases" => options with { Databases = Int(arg, Value(), 1, 1000) },
                "--top-tables" => options with { TopTables = Int(arg, Value(), 0, 100) },
                "--standbys" => options with { Standbys = Int(arg, Value(), 0, 100) },
                "--slots" => options with { Slots = Int(arg, Value(), 0, 100) },
                "--settings" => options with { Settings = Int(arg, Value(), 0, 1000) },
                "--scenarios" => options with { Scenarios = ScenarioList(Value()) },
                "--scenario" => options with { Scenario = ScenarioList(Value()).Single() },
                "--contexts" => options with { Contexts = ContextList(Value()) },
                "--context" => options with { Context = ContextList(Value()).Single() },
                _ => throw new ArgumentException($"unknown option '{arg}' (--help lists them)"),
            };
        }

        return options;
    }

    private int Scaled(int count) => Math.Max(1, (int)Math.Round(count * SeriesScale, MidpointRounding.AwayFromZero));

    private static string[] ScenarioList(string text)
    {
        var names = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var name in names)
        {
            if (!AllScenarios.Contains(name, StringComparer.Ordinal))
            {
                throw new ArgumentException($"unknown scenario '{name}' (one of {string.Join(", ", AllScenarios)})");
            }
        }

        return names.Length > 0 ? names : throw new ArgumentException("no scenario given");
    }

    private static string[] ContextList(string text)
    {
        var names = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var name in names)
        {
            if (!ProcessContext.All.Contains(name, StringComparer.Ordinal))
            {
                throw new ArgumentException($"unknown context '{name}' (one of {string.Join(", ", ProcessContext.All)})");
            }
        }

        return names.Length > 0 ? names : throw new ArgumentException("no context given");
    }

    private static int Int(string option, string text, int min, int max) =>
        int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw new ArgumentException($"{option}: '{text}' is not an integer in {min}..{max}");

    private static double Double(string option, string text, double min, double max) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw new ArgumentException($"{option}: '{text}' is not a number in {min}..{max}");

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
