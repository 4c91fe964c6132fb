using System.Globalization;

namespace Fleet.Bench.Agent;

/// <summary>Command-line settings of a run. Defaults are what bench/README.md reports.</summary>
internal sealed class BenchOptions
{
    public int Tables { get; private set; } = 1000;

    /// <summary>Cycles in the CPU window of the normal loop (framework-dependent agent).</summary>
    public int Cycles { get; private set; } = 60;

    /// <summary>Cycles in the window where every due cycle also refreshes the slow figures (SlowInterval = Interval).</summary>
    public int SlowCycles { get; private set; } = 30;

    /// <summary>Cycles in the CPU window of each self-contained agent (trimmed, Native AOT).</summary>
    public int TrimmedCycles { get; private set; } = 40;

    /// <summary>Exporter scrapes in its CPU window (one per second).</summary>
    public int Scrapes { get; private set; } = 30;

    /// <summary>Cycles watched on /metrics for wall times (outside the CPU windows).</summary>
    public int Samples { get; private set; } = 10;

    /// <summary>Warm-up of every contender before its window (JIT, first slow refresh, connection set-up).</summary>
    public TimeSpan Warmup { get; private set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Uptime until which the trimmed agent's memory is read (every 5 s after its CPU window, highest kept):
    /// past its first compaction (30 s), many gen0 collections, the periodic slow refresh at 300 s and the compaction after it.
    /// </summary>
    public TimeSpan Steady { get; private set; } = TimeSpan.FromSeconds(400);

    public TimeSpan Interval { get; private set; } = TimeSpan.FromSeconds(1);

    /// <summary>The agent's default Collection:SlowInterval, used to amortise the slow refresh.</summary>
    public TimeSpan SlowInterval { get; private set; } = TimeSpan.FromMinutes(5);

    public string? AgentDirectory { get; private set; }

    public string? TrimmedDirectory { get; private set; }

    public bool SkipTrimmed { get; private set; }

    public string? AotDirectory { get; private set; }

    public bool SkipAot { get; private set; }

    public string? ExporterPath { get; private set; }

    public bool InstallExporter { get; private set; } = true;

    /// <summary>Also run the trimmed agent under alternative runtime settings (memory knobs), each for <see cref="KnobSeconds"/>.</summary>
    public bool Knobs { get; private set; }

    public TimeSpan KnobSeconds { get; private set; } = TimeSpan.FromSeconds(75);

    /// <summary>With --knob NAME, only that variant of <see cref="Scenarios.RuntimeKnobs"/> is run (implies --knobs).</summary>
    public string? KnobName { get; private set; }

    public string WorkDirectory { get; private set; } = Path.Combine(Path.GetTempPath(), "fleet-bench-agent");

    public string? JsonPath { get; private set; }

    public string? RepoRoot { get; private set; }

    public static string Usage => """
        fleet-agent collection benchmark: one Fleet collection cycle vs one prometheus-postgres-exporter scrape
        on the same PostgreSQL database (real server, loopback), and the agent's memory.

        usage: Fleet.Bench.Agent [options]

          --tables N          tables in the bench database (default 1000)
          --cycles N          cycles in the CPU window of the normal loop (default 60)
          --slow-cycles N     cycles in the window with the slow refresh due every cycle (default 30)
          --trimmed-cycles N  cycles in each self-contained agent's CPU window (default 40)
          --scrapes N         exporter scrapes in its window, one per second (default 30)
          --samples N         cycles watched on /metrics for wall times (default 10)
          --warmup N          seconds from an agent's start to its CPU window (JIT tiering; default 60)
          --steady N          self-contained agents: read memory every 5 s until N s of uptime, report the highest (default 400)
          --agent-dir DIR     use this framework-dependent publish instead of publishing
          --trimmed-dir DIR   use this trimmed self-contained publish instead of publishing
          --no-trimmed        skip the trimmed self-contained agent
          --aot-dir DIR       use this Native AOT publish instead of publishing
          --no-aot            skip the Native AOT agent
          --exporter PATH     postgres_exporter binary (default /usr/bin/prometheus-postgres-exporter)
          --no-install        do not apt-get install prometheus-postgres-exporter when missing
          --knobs             also measure the trimmed agent under alternative runtime settings
          --knob NAME         only this knob variant (implies --knobs), e.g. "heap left to the runtime"
          --knob-seconds N    seconds per knob variant, the last 30 cycles measured (default 75)
          --quick             short windows for a smoke run (numbers are noisier)
          --work DIR          builds and run files (default /tmp/fleet-bench-agent)
          --json FILE         also write the results as JSON
          --repo DIR          repository root (default: found from the working directory)
        """;

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
                return "0";
            }

            switch (name)
            {
                case "--tables": options.Tables = Int(name, Value(), 1, 10_000, problems); break;
                case "--cycles": options.Cycles = Int(name, Value(), 5, 3600, problems); break;
                case "--slow-cycles": options.SlowCycles = Int(name, Value(), 5, 3600, problems); break;
                case "--trimmed-cycles": options.TrimmedCycles = Int(name, Value(), 5, 3600, problems); break;
                case "--scrapes": options.Scrapes = Int(name, Value(), 3, 3600, problems); break;
                case "--samples": options.Samples = Int(name, Value(), 2, 600, problems); break;
                case "--warmup": options.Warmup = TimeSpan.FromSeconds(Int(name, Value(), 1, 600, problems)); break;
                case "--steady": options.Steady = TimeSpan.FromSeconds(Int(name, Value(), 5, 3600, problems)); break;
                case "--agent-dir": options.AgentDirectory = Value(); break;
                case "--trimmed-dir": options.TrimmedDirectory = Value(); break;
                case "--no-trimmed": options.SkipTrimmed = true; break;
                case "--aot-dir": options.AotDirectory = Value(); break;
                case "--no-aot": options.SkipAot = true; break;
                case "--exporter": options.ExporterPath = Value(); break;
                case "--no-install": options.InstallExporter = false; break;
                case "--knobs": options.Knobs = true; break;
                case "--knob":
                    options.Knobs = true;
                    options.KnobName = Value();
                    break;
                case "--knob-seconds": options.KnobSeconds = TimeSpan.FromSeconds(Int(name, Value(), 40, 3600, problems)); break;
                case "--quick":
                    options.Cycles = 15;
                    options.SlowCycles = 10;
                    options.TrimmedCycles = 10;
                    options.Scrapes = 10;
                    options.Samples = 5;
                    options.Warmup = TimeSpan.FromSeconds(20);
                    options.Steady = TimeSpan.FromSeconds(90);
                    options.KnobSeconds = TimeSpan.FromSeconds(40);
                    break;
                case "--work": options.WorkDirectory = Path.GetFullPath(Value()); break;
                case "--json": options.JsonPath = Value(); break;
                case "--repo": options.RepoRoot = Value(); break;
                default: problems.Add($"unknown option '{name}'"); break;
            }
        }

        if (options.KnobName is { } knob && !Scenarios.RuntimeKnobs.Variants.Any(k => k.Name == knob))
        {
            problems.Add($"--knob '{knob}' is none of: {string.Join(", ", Scenarios.RuntimeKnobs.Variants.Select(k => $"'{k.Name}'"))}");
        }

        errors = problems;
        return options;
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
