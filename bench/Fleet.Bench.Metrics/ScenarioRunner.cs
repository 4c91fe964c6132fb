using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Runtime;
using System.Text;

namespace Fleet.Bench.Metrics;

/// <summary>What one scenario measured in its own process.</summary>
internal sealed record ScenarioResult
{
    public required string Scenario { get; init; }

    public required string Context { get; init; }

    /// <summary>Which repeat of the scenario in its context (set by the parent).</summary>
    public int Repeat { get; init; } = 1;

    public required int Series { get; init; }

    public required long BytesPerScrape { get; init; }

    public required int Iterations { get; init; }

    /// <summary>Process CPU (all threads: JIT, GC included) per scrape, median round, in microseconds.</summary>
    public required double CpuMicros { get; init; }

    public required double CpuMicrosMin { get; init; }

    public required double CpuMicrosMax { get; init; }

    /// <summary>Wall time per scrape, median round, in microseconds.</summary>
    public required double WallMicros { get; init; }

    /// <summary>Median and 99th percentile of single scrapes over all rounds, in microseconds.</summary>
    public required double ScrapeP50Micros { get; init; }

    public required double ScrapeP99Micros { get; init; }

    /// <summary>GC.GetTotalAllocatedBytes(precise) per scrape, median round.</summary>
    public required double AllocatedBytes { get; init; }

    public required int Gen0Collections { get; init; }

    public required int Gen2Collections { get; init; }

    /// <summary>VmRSS before the metric state exists, after a full GC.</summary>
    public required long RssBefore { get; init; }

    /// <summary>VmRSS after creating the state and one scrape, after a full GC.</summary>
    public required long RssAfterSetup { get; init; }

    /// <summary>VmRSS after all rounds, after a full GC.</summary>
    public required long RssAfterRun { get; init; }

    /// <summary>RssAnon and RssFile (mapped files: assemblies) growth from before to after setup.</summary>
    public required long AnonSetupDelta { get; init; }

    public required long FileSetupDelta { get; init; }

    public required int ThreadsBefore { get; init; }

    public required int ThreadsAfterSetup { get; init; }

    /// <summary>Assemblies loaded by the setup (state creation and the first scrape), by simple name.</summary>
    public required IReadOnlyList<string> AssembliesLoaded { get; init; }

    public required long HeapBefore { get; init; }

    public required long HeapAfterSetup { get; init; }

    public required long HeapAfterRun { get; init; }
}

/// <summary>
/// One scenario, run in a child process so that resident memory is not mixed between the two: build the
/// snapshot, mark RSS, create the metric state and scrape once, mark RSS again, warm up, then measure
/// rounds of N scrapes (CPU, wall, allocations), and mark RSS a last time.
/// </summary>
internal static class ScenarioRunner
{
    public static async Task<ScenarioResult> RunAsync(BenchOptions options, string scenario)
    {
        var snapshot = SnapshotFactory.Primary(options.Shape);
        var bridge = AgentMetricsBridge.Create(SnapshotFactory.Archive());

        // The prometheus-net scenarios need the series to replay: the agent's own exposition, parsed. This
        // happens before the first memory mark, so neither the model nor the agent writer's code count for them.
        List<ParsedFamily>? model = null;
        if (scenario is BenchOptions.PrometheusNet or BenchOptions.PrometheusNetCached or BenchOptions.WriterModel)
        {
            var text = new ArrayBufferWriter<byte>(256 * 1024);
            bridge.Write(text, snapshot);
            model = TextExposition.Parse(Encoding.UTF8.GetString(text.WrittenSpan));
        }

        await ProcessContext.PrepareAsync(options.Context);
        Settle();
        var rssBefore = ResidentMemory.Current();
        var (anonBefore, fileBefore) = (ResidentMemory.Field("RssAnon:"), ResidentMemory.Field("RssFile:"));
        var threadsBefore = Threads();
        var assembliesBefore = LoadedAssemblies();
        var heapBefore = GC.GetTotalMemory(forceFullCollection: true);

        var output = new MemoryStream();
        Func<Task> scrape;
        Func<long> writtenBytes = () => output.Length;
        int series;
        if (scenario == BenchOptions.Writer)
        {
            // As GET /metrics does: AgentMetricsWriter.Write into a PipeWriter (the response's BodyWriter
            // there, one over a reused MemoryStream here), then FlushAsync. (The endpoint then appends the
            // host's own prometheus-net registry, ProcessMetrics: the same whichever writes the PostgreSQL
            // families, so not part of either scenario.)
            var pipe = PipeWriter.Create(output, new StreamPipeWriterOptions(leaveOpen: true));
            series = 0;
            scrape = async () =>
            {
                output.Position = 0;
                output.SetLength(0);
                series = bridge.Write(pipe, snapshot);
                await pipe.FlushAsync();
            };
        }
        else if (scenario == BenchOptions.WriterModel)
        {
            // Like for like with prometheus-net: the same prepared families and values, written by the
            // agent's PrometheusTextWriter into the same pipe as "writer". writer minus this is roughly what
            // reading the snapshot costs, which the prometheus-net replay does not pay.
            var pipe = PipeWriter.Create(output, new StreamPipeWriterOptions(leaveOpen: true));
            var families = model!;
            series = families.Sum(f => f.Series.Count);
            scrape = async () =>
            {
                output.Position = 0;
                output.SetLength(0);
                ModelWriter.Write(pipe, families);
                await pipe.FlushAsync();
            };
        }
        else if (scenario == BenchOptions.WriterBuffer)
        {
            // The writer alone: a reused ArrayBufferWriter, as tests/Fleet.Agent.Tests' MetricsAllocationTests does.
            var buffer = new ArrayBufferWriter<byte>(128 * 1024);
            series = 0;
            scrape = () =>
            {
                buffer.ResetWrittenCount();
                series = bridge.Write(buffer, snapshot);
                return Task.CompletedTask;
            };
            writtenBytes = () => buffer.WrittenCount;
        }
        else
        {
            var replay = PrometheusNetReplay.Create(model!, cacheChildren: scenario == BenchOptions.PrometheusNetCached);
            series = model!.Sum(f => f.Series.Count);
            scrape = async () =>
            {
                output.Position = 0;
                output.SetLength(0);
                await replay.ScrapeAsync(output);
            };
        }

        await scrape();
        var bytes = writtenBytes();
        Settle();
        var rssAfterSetup = ResidentMemory.Current();
        var (anonAfter, fileAfter) = (ResidentMemory.Field("RssAnon:"), ResidentMemory.Field("RssFile:"));
        var threadsAfterSetup = Threads();
        var assembliesLoaded = LoadedAssemblies().Except(assembliesBefore, StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var heapAfterSetup = GC.GetTotalMemory(forceFullCollection: true);

        // Warm-up: enough calls, and enough time, for tiered compilation to reach tier 1 everywhere.
        var warmupClock = Stopwatch.StartNew();
        for (var i = 0; i < options.Warmup || (warmupClock.Elapsed < TimeSpan.FromSeconds(1) && i < 1_000_000); i++)
        {
            await scrape();
        }

        Thread.Sleep(200);
        GC.Collect();

        var rounds = new List<(double Cpu, double Wall, double Allocated)>();
        var singles = new long[options.Iterations * options.Rounds];
        var gen0 = GC.CollectionCount(0);
        var gen2 = GC.CollectionCount(2);
        for (var round = 0; round < options.Rounds; round++)
        {
            var cpu0 = Environment.CpuUsage.TotalTime;
            var allocated0 = GC.GetTotalAllocatedBytes(precise: true);
            var start = Stopwatch.GetTimestamp();
            var last = start;
            for (var i = 0; i < options.Iterations; i++)
            {
                await scrape();
                var now = Stopwatch.GetTimestamp();
                singles[(round * options.Iterations) + i] = now - last;
                last = now;
            }

            var wall = Stopwatch.GetElapsedTime(start, last);
            var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated0;
            var cpu = Environment.CpuUsage.TotalTime - cpu0;
            rounds.Add((cpu.TotalMicroseconds / options.Iterations, wall.TotalMicroseconds / options.Iterations, (double)allocated / options.Iterations));
        }

        gen0 = GC.CollectionCount(0) - gen0;
        gen2 = GC.CollectionCount(2) - gen2;
        GC.KeepAlive(output);

        Settle();
        var rssAfterRun = ResidentMemory.Current();
        var heapAfterRun = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(snapshot);

        Array.Sort(singles);
        var byCpu = rounds.OrderBy(r => r.Cpu).ToList();
        var median = byCpu[byCpu.Count / 2];
        return new ScenarioResult
        {
            Scenario = scenario,
            Context = options.Context,
            Series = series,
            BytesPerScrape = bytes,
            Iterations = options.Iterations,
            CpuMicros = median.Cpu,
            CpuMicrosMin = byCpu[0].Cpu,
            CpuMicrosMax = byCpu[^1].Cpu,
            WallMicros = median.Wall,
            ScrapeP50Micros = Micros(singles[singles.Length / 2]),
            ScrapeP99Micros = Micros(singles[Math.Min(singles.Length - 1, (int)(singles.Length * 0.99))]),
            AllocatedBytes = median.Allocated,
            Gen0Collections = gen0,
            Gen2Collections = gen2,
            RssBefore = rssBefore,
            RssAfterSetup = rssAfterSetup,
            RssAfterRun = rssAfterRun,
            AnonSetupDelta = anonAfter - anonBefore,
            FileSetupDelta = fileAfter - fileBefore,
            AssembliesLoaded = assembliesLoaded,
            ThreadsBefore = threadsBefore,
            ThreadsAfterSetup = threadsAfterSetup,
            HeapBefore = heapBefore,
            HeapAfterSetup = heapAfterSetup,
            HeapAfterRun = heapAfterRun,
        };
    }

    private static HashSet<string> LoadedAssemblies() =>
        AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetName().Name ?? "?").ToHashSet(StringComparer.Ordinal);

    private static int Threads()
    {
        using var process = Process.GetCurrentProcess();
        return process.Threads.Count;
    }

    private static double Micros(long ticks) => ticks * 1e6 / Stopwatch.Frequency;

    /// <summary>A full, compacting collection with finalizers run, then a moment for the OS figures to follow.</summary>
    private static void Settle()
    {
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        Thread.Sleep(100);
    }
}

/// <summary>The parsed families written with the agent's PrometheusTextWriter (public, in Fleet.Hosting).</summary>
internal static class ModelWriter
{
    public static void Write(System.Buffers.IBufferWriter<byte> output, List<ParsedFamily> families)
    {
        var w = new Fleet.Hosting.Prometheus.PrometheusTextWriter(output);
        foreach (var family in families)
        {
            w.BeginFamily(family.Name, family.Type == "counter" ? Fleet.Hosting.Prometheus.PrometheusMetricType.Counter : Fleet.Hosting.Prometheus.PrometheusMetricType.Gauge, family.Help);
            var names = family.LabelNames;
            foreach (var series in family.Series)
            {
                w.BeginSample();
                for (var i = 0; i < names.Length; i++)
                {
                    w.Label(names[i], series.LabelValues[i]);
                }

                w.EndSample(series.Value);
            }
        }
    }
}

/// <summary>Resident set size of this process (VmRSS of /proc/self/status; Environment.WorkingSet elsewhere).</summary>
internal static class ResidentMemory
{
    public static long Current() => Field("VmRSS:") is var rss and > 0 ? rss : Environment.WorkingSet;

    /// <summary>A size field of /proc/self/status (VmRSS:, RssAnon:, RssFile:) in bytes; 0 when unavailable.</summary>
    public static long Field(string name)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith(name, StringComparison.Ordinal))
                {
                    var kb = line[name.Length..].Trim().Split(' ')[0];
                    return long.Parse(kb, System.Globalization.CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return 0;
    }
}
