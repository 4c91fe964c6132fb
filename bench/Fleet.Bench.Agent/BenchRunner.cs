using System.Diagnostics;
using Fleet.Bench.Agent.Measurement;
using Fleet.Bench.Agent.Processes;
using Fleet.Bench.Agent.Reporting;
using Fleet.Bench.Agent.Scenarios;
using Fleet.Bench.Agent.Setup;

namespace Fleet.Bench.Agent;

/// <summary>
/// The run, one contender at a time against the same server (so PostgreSQL's CPU is attributable):
/// <list type="number">
/// <item>publish fleet-agent (framework-dependent, trimmed self-contained, Native AOT); locate or install postgres_exporter;</item>
/// <item>start PostgreSQL and create the database (1,000 tables);</item>
/// <item>fleet-agent, default settings: warm-up, CPU window of the normal 1 s loop, cycle wall times, /metrics cost, memory;</item>
/// <item>fleet-agent with SlowInterval = Interval: the slow refresh's cost, measured as the excess over the fast cycle;</item>
/// <item>trimmed self-contained fleet-agent, then the Native AOT one: start-up, CPU window, memory, smoke check (gRPC, reflection, health, HTTP);</item>
/// <item>optionally, the trimmed agent under alternative runtime settings (--knobs);</item>
/// <item>postgres_exporter with its default collectors: warm-up scrapes, one scrape per second in its window, memory;</item>
/// <item>metric coverage from the families both exposed; report.</item>
/// </list>
/// </summary>
internal static class BenchRunner
{
    public static async Task<int> RunAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        var total = Stopwatch.StartNew();
        var results = new BenchResults { Options = options, LoadAverageAtStart = LoadAverage() };
        var repoRoot = options.RepoRoot ?? FindRepoRoot();
        Directory.CreateDirectory(options.WorkDirectory);
        var runDirectory = Directory.CreateTempSubdirectory("fleet-bench-agent-run-").FullName;
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5) })
        {
            Timeout = TimeSpan.FromSeconds(30),
        };
        try
        {
            var isRoot = Posix.EffectiveUserId() == 0;
            var (exporterPath, exporterVersion) = await ExporterSetup.LocateAsync(options.ExporterPath, options.InstallExporter, isRoot, Log, cancellationToken);
            results.ExporterVersion = exporterVersion;

            var frameworkDependent = options.AgentDirectory is { } agentDirectory
                ? AgentPublisher.Existing("framework-dependent", agentDirectory, frameworkDependent: true)
                : await AgentPublisher.FrameworkDependentAsync(repoRoot, options.WorkDirectory, Log, cancellationToken);
            results.Publishes.Add(frameworkDependent);
            PublishResult? trimmed = null;
            if (!options.SkipTrimmed)
            {
                trimmed = options.TrimmedDirectory is { } trimmedDirectory
                    ? AgentPublisher.Existing("trimmed", trimmedDirectory, frameworkDependent: false)
                    : await AgentPublisher.TrimmedAsync(repoRoot, options.WorkDirectory, Log, cancellationToken);
                results.Publishes.Add(trimmed);
            }

            PublishResult? aot = null;
            if (!options.SkipAot)
            {
                aot = options.AotDirectory is { } aotDirectory
                    ? AgentPublisher.Existing("aot", aotDirectory, frameworkDependent: false)
                    : await AgentPublisher.AotAsync(repoRoot, options.WorkDirectory, Log, cancellationToken);
                results.Publishes.Add(aot);
            }

            Log("starting PostgreSQL");
            await using var postgres = await BenchPostgres.StartAsync(line => Log("  " + line), cancellationToken);
            results.PostgresVersion = postgres.ServerVersion;
            results.TableSet = await TableSet.CreateAsync(postgres, options.Tables, Log, cancellationToken);
            Log($"database '{BenchPostgres.Database}': {results.TableSet.Tables} tables, {results.TableSet.Indexes} indexes, " +
                $"{results.TableSet.Rows} live rows, {results.TableSet.DeadRows} dead, {results.TableSet.DatabaseBytes / 1048576.0:F1} MB");
            await using var probe = await PostgresProbe.OpenAsync(await postgres.OpenAsync("postgres", cancellationToken, "fleet-bench-probe"), cancellationToken);
            var postmaster = postgres.PostmasterPid;

            var defaults = new AgentSettings(options.Interval, options.SlowInterval);
            PromText fleetMetrics;

            // 1. Framework-dependent agent, default settings.
            using (var agent = AgentProcess.Start(frameworkDependent.Binary, postgres, defaults, runDirectory, http))
            {
                var started = Stopwatch.StartNew();
                results.FrameworkDependentStartup = await StartUpAsync(agent, started, options, cancellationToken);
                Log($"CPU window: {options.Cycles} cycles of {options.Interval.TotalSeconds:F0} s");
                results.Fast = await AgentMeasurements.CpuWindowAsync(agent, probe, postmaster, options.Cycles, cancellationToken);
                results.FrameworkDependentMemory = await SteadyMemoryAsync("fleet-agent framework-dependent", agent.Pid, started, FrameworkDependentSteady, cancellationToken);
                results.FastSamples = await AgentMeasurements.SampleCyclesAsync(agent, options.Samples, cancellationToken);
                if (results.FastSamples.LastOrDefault() is { SizesAsOf: { } sizesAsOf } lastSample)
                {
                    results.SlowFiguresAgeSeconds = lastSample.CollectedAt - sizesAsOf;
                }

                results.AgentScrape = await AgentMeasurements.ScrapeCostAsync(agent, 200, results.Fast.AgentCpuPerCycleMs, cancellationToken);
                fleetMetrics = await agent.ScrapeAsync(cancellationToken);
                results.FleetSeries = fleetMetrics.SeriesCount;
                await agent.StopAsync();
            }

            // 1b. The agent's own cost when it does not collect (timers and background loops), to split the cycle's cost.
            using (var agent = AgentProcess.Start(frameworkDependent.Binary, postgres, new AgentSettings(IdleInterval, IdleInterval), runDirectory, http))
            {
                var started = Stopwatch.StartNew();
                await agent.WaitReadyAsync(TimeSpan.FromSeconds(60), cancellationToken);
                Log($"fleet-agent with Collection:Interval {IdleInterval.TotalMinutes:F0} min (idle after its first cycle): {IdleSeconds} s window");
                await Task.Delay(TimeSpan.FromSeconds(20), cancellationToken);
                var start = ProcFs.ReadCpu(agent.Pid) ?? throw new InvalidOperationException("agent is gone");
                var window = Stopwatch.StartNew();
                await Task.Delay(TimeSpan.FromSeconds(IdleSeconds), cancellationToken);
                var end = ProcFs.ReadCpu(agent.Pid) ?? throw new InvalidOperationException("agent is gone");
                results.IdleCpuMsPerSecond = (end.OwnTicks - start.OwnTicks) * ProcCpu.TickMilliseconds / window.Elapsed.TotalSeconds;
                await agent.StopAsync();
            }

            // 2. Slow refresh due every cycle.
            using (var agent = AgentProcess.Start(frameworkDependent.Binary, postgres, defaults with { SlowInterval = options.Interval }, runDirectory, http))
            {
                var started = Stopwatch.StartNew();
                await agent.WaitReadyAsync(TimeSpan.FromSeconds(60), cancellationToken);
                // Right after start-up the slow path runs as tier-0 code, as it does in production for hours
                // (a method is recompiled after 30 calls: 30 refreshes at 5 min). Measured first, then warm.
                Log($"fleet-agent with SlowInterval = Interval: cold window of {ColdCycles} cycles, warm-up, then {options.SlowCycles} cycles");
                results.SlowEveryCold = await AgentMeasurements.CpuWindowAsync(agent, probe, postmaster, ColdCycles, cancellationToken);
                if (started.Elapsed < options.Warmup)
                {
                    await Task.Delay(options.Warmup - started.Elapsed, cancellationToken);
                }

                results.SlowEvery = await AgentMeasurements.CpuWindowAsync(agent, probe, postmaster, options.SlowCycles, cancellationToken);
                results.SlowSamples = await AgentMeasurements.SampleCyclesAsync(agent, options.Samples, cancellationToken);
                await agent.StopAsync();
            }

            // 3. Self-contained agents: trimmed (JIT), then Native AOT, each alone against the same server.
            if (trimmed is not null)
            {
                results.Trimmed = await MeasureSelfContainedAsync(new SelfContainedRun("trimmed", "trimmed self-contained"), trimmed.Binary, postgres, probe, postmaster, defaults, runDirectory, http, options, cancellationToken);
                if (options.Knobs)
                {
                    foreach (var knob in RuntimeKnobs.Variants.Where(k => options.KnobName is null || k.Name == options.KnobName))
                    {
                        results.Knobs.Add(await MeasureKnobAsync(trimmed.Binary, knob, postgres, probe, postmaster, defaults, runDirectory, http, options, cancellationToken));
                    }
                }
            }

            if (aot is not null)
            {
                results.Aot = await MeasureSelfContainedAsync(new SelfContainedRun("aot", "Native AOT"), aot.Binary, postgres, probe, postmaster, defaults, runDirectory, http, options, cancellationToken);
                if (options.Knobs)
                {
                    foreach (var knob in RuntimeKnobs.Variants.Where(k => !k.JitOnly && (options.KnobName is null || k.Name == options.KnobName)))
                    {
                        results.Knobs.Add(await MeasureKnobAsync(aot.Binary, knob with { Name = "AOT: " + knob.Name }, postgres, probe, postmaster, defaults, runDirectory, http, options, cancellationToken));
                    }
                }
            }

            // 4. postgres_exporter, default collectors.
            using (var exporter = ExporterProcess.Start(exporterPath, postgres.ExporterDataSourceName, http))
            {
                var started = Stopwatch.StartNew();
                await exporter.WaitListeningAsync(TimeSpan.FromSeconds(30), cancellationToken);
                Log("postgres_exporter up; 3 warm-up scrapes");
                for (var i = 0; i < 3; i++)
                {
                    _ = await exporter.ScrapeAsync(cancellationToken);
                    await Task.Delay(options.Interval, cancellationToken);
                }

                Log($"scrape window: {options.Scrapes} scrapes, one per {options.Interval.TotalSeconds:F0} s");
                results.Exporter = await ExporterMeasurements.ScrapeWindowAsync(exporter, probe, postmaster, options.Scrapes, options.Interval, cancellationToken);
                results.ExporterBackends = (await probe.ClientBackendsAsync(cancellationToken)).Count;
                var memory = ProcFs.ReadMemory(exporter.Pid) ?? throw new InvalidOperationException("exporter is gone");
                results.ExporterMemory = new MemoryReading("postgres_exporter", started.Elapsed.TotalSeconds, memory, ProcFs.ResidentBreakdown(exporter.Pid));
                await exporter.StopAsync();
            }

            results.LoadAverageAtEnd = LoadAverage();
            results.Coverage = Coverage.Build(results.Exporter.Last, fleetMetrics);
            results.Took = total.Elapsed;
            Console.Out.Write(ConsoleReport.Render(results));
            if (options.JsonPath is { } jsonPath)
            {
                await File.WriteAllTextAsync(jsonPath, JsonReport.Render(results), cancellationToken);
                Log($"wrote {jsonPath}");
            }

            return results.SelfContained.All(run => run.Smoke.All(s => s.Passed)) ? 0 : 1;
        }
        finally
        {
            BenchChild.KillAll();
            try
            {
                Directory.Delete(runDirectory, recursive: true);
            }
            catch (IOException)
            {
                // Left for the temp cleaner.
            }
        }
    }

    /// <summary>Collection:Interval of the idle run: one cycle at start, none in the window.</summary>
    private static readonly TimeSpan IdleInterval = TimeSpan.FromMinutes(10);

    private const int IdleSeconds = 30;

    /// <summary>Cycles of the cold slow-refresh window, started right after the agent is ready.</summary>
    private const int ColdCycles = 10;

    /// <summary>How often the trimmed agent's memory is read in its window.</summary>
    private static readonly TimeSpan MemoryEvery = TimeSpan.FromSeconds(5);

    /// <summary>When the framework-dependent agent's memory is read (for reference; the target is the trimmed agent's).</summary>
    private static readonly TimeSpan FrameworkDependentSteady = TimeSpan.FromSeconds(60);

    /// <summary>Cycles of each knob's CPU window, at the end of its run.</summary>
    private const int KnobCycles = 30;

    private static async Task<AgentStartup> StartUpAsync(AgentProcess agent, Stopwatch started, BenchOptions options, CancellationToken cancellationToken)
    {
        await agent.WaitReadyAsync(TimeSpan.FromSeconds(60), cancellationToken);
        var readyCpu = ProcFs.ReadCpu(agent.Pid)?.OwnTicks * ProcCpu.TickMilliseconds ?? double.NaN;
        return await WarmUpAsync(agent, started, started.Elapsed.TotalSeconds, readyCpu, options, cancellationToken);
    }

    /// <summary>
    /// Waits until the agent has run <see cref="BenchOptions.Warmup"/>: the JIT recompiles a method after 30
    /// calls, so code that runs once per cycle reaches its steady, optimised form after about 30-40 cycles.
    /// </summary>
    private static async Task<AgentStartup> WarmUpAsync(
        AgentProcess agent, Stopwatch started, double readySeconds, double readyCpuMs, BenchOptions options, CancellationToken cancellationToken)
    {
        Log($"{agent.Label} ready after {readySeconds:F1} s ({readyCpuMs:F0} ms CPU); warm-up until {options.Warmup.TotalSeconds:F0} s");
        if (started.Elapsed < options.Warmup)
        {
            await Task.Delay(options.Warmup - started.Elapsed, cancellationToken);
        }

        var warmCpu = ProcFs.ReadCpu(agent.Pid)?.OwnTicks * ProcCpu.TickMilliseconds ?? double.NaN;
        return new AgentStartup(readySeconds, readyCpuMs, started.Elapsed.TotalSeconds, warmCpu - readyCpuMs);
    }

    /// <summary>
    /// One self-contained build: start-up, CPU window, memory window (highest RSS, /metrics scraped at each
    /// reading), then the smoke check, which loads code the collection loop never runs (gRPC, reflection), so
    /// memory is read once more afterwards and reported apart.
    /// </summary>
    private static async Task<SelfContainedRun> MeasureSelfContainedAsync(
        SelfContainedRun run, AgentBinary binary, BenchPostgres postgres, PostgresProbe probe, int postmaster, AgentSettings settings,
        string runDirectory, HttpClient http, BenchOptions options, CancellationToken cancellationToken)
    {
        using var agent = AgentProcess.Start(binary, postgres, settings, runDirectory, http);
        var started = Stopwatch.StartNew();
        run.Startup = await StartUpAsync(agent, started, options, cancellationToken);
        Log($"{run.Name}: CPU window of {options.TrimmedCycles} cycles");
        run.Fast = await AgentMeasurements.CpuWindowAsync(agent, probe, postmaster, options.TrimmedCycles, cancellationToken);
        Log($"{run.Name}: memory window, every {MemoryEvery.TotalSeconds:F0} s until {options.Steady.TotalSeconds:F0} s of uptime");
        run.Memory = await PeakMemoryAsync($"fleet-agent {run.Name}", agent.Pid, started, options.Steady, MemoryEvery, agent, cancellationToken);
        run.Gc = await AgentMeasurements.GcCountsAsync(agent, cancellationToken);

        Log($"smoke check of the {run.Name} agent");
        run.Smoke = await AgentSmokeCheck.RunAsync(agent, http, cancellationToken);
        foreach (var check in run.Smoke)
        {
            Log($"  {(check.Passed ? "ok  " : "FAIL")} {check.Check}: {check.Detail}");
        }

        await Task.Delay(TimeSpan.FromSeconds(5), cancellationToken);
        run.MemoryAfterSmoke = await SteadyMemoryAsync($"fleet-agent {run.Name}, after the gRPC checks", agent.Pid, started, TimeSpan.Zero, cancellationToken);
        await agent.StopAsync();
        return run;
    }

    private static async Task<KnobResult> MeasureKnobAsync(
        AgentBinary binary, RuntimeKnob knob, BenchPostgres postgres, PostgresProbe probe, int postmaster, AgentSettings settings,
        string runDirectory, HttpClient http, BenchOptions options, CancellationToken cancellationToken)
    {
        Log($"knob '{knob.Name}' ({knob.Settings}) for {options.KnobSeconds.TotalSeconds:F0} s");
        using var agent = AgentProcess.Start(binary, postgres, settings, runDirectory, http, knob.Environment);
        var started = Stopwatch.StartNew();
        await agent.WaitReadyAsync(TimeSpan.FromSeconds(60), cancellationToken);
        var windowStart = options.KnobSeconds - (options.Interval * (KnobCycles + 3));
        if (started.Elapsed < windowStart)
        {
            await Task.Delay(windowStart - started.Elapsed, cancellationToken);
        }

        var window = await AgentMeasurements.CpuWindowAsync(agent, probe, postmaster, KnobCycles, cancellationToken);
        var memory = await SteadyMemoryAsync($"fleet-agent {binary.Label} {knob.Name}", agent.Pid, started, options.KnobSeconds, cancellationToken);
        await agent.StopAsync();
        return new KnobResult(knob.Name, knob.Settings, knob.Purpose, memory, window);
    }

    /// <summary>Waits until the process has run <paramref name="steady"/>, then reads its memory once.</summary>
    private static Task<MemoryReading> SteadyMemoryAsync(string label, int pid, Stopwatch started, TimeSpan steady, CancellationToken cancellationToken) =>
        PeakMemoryAsync(label, pid, started, steady, TimeSpan.MaxValue, scrape: null, cancellationToken);

    /// <summary>
    /// Reads the process's memory every <paramref name="every"/> until it has run <paramref name="until"/> and
    /// returns the reading with the highest RSS: a single reading can fall just after a collection, or before the
    /// runtime's first one (its own gen0 budget is 16 MB here, which an idle agent takes minutes to fill).
    /// <paramref name="scrape"/>, when given, has its /metrics read at each reading, as a Prometheus server would.
    /// </summary>
    private static async Task<MemoryReading> PeakMemoryAsync(
        string label, int pid, Stopwatch started, TimeSpan until, TimeSpan every, AgentProcess? scrape, CancellationToken cancellationToken)
    {
        var from = started.Elapsed.TotalSeconds;
        MemoryReading? highest = null;
        var samples = 0;
        while (true)
        {
            if (scrape is not null)
            {
                _ = await scrape.ScrapeAsync(cancellationToken);
            }

            var memory = ProcFs.ReadMemory(pid) ?? throw new InvalidOperationException($"{label} is gone");
            samples++;
            if (highest is null || memory.RssKb > highest.Memory.RssKb)
            {
                highest = new MemoryReading(label, started.Elapsed.TotalSeconds, memory, ProcFs.ResidentBreakdown(pid));
            }

            var left = until - started.Elapsed;
            if (left <= TimeSpan.Zero)
            {
                break;
            }

            await Task.Delay(left < every ? left : every, cancellationToken);
        }

        highest = highest with { WindowFromSeconds = from, WindowToSeconds = started.Elapsed.TotalSeconds, Samples = samples };
        var m = highest.Memory;
        Log($"{label}: highest RSS {m.RssKb / 1024.0:F1} MB (anonymous {m.AnonymousKb / 1024.0:F1} MB, private {m.PrivateKb / 1024.0:F1} MB) at {highest.UptimeSeconds:F0} s, " +
            $"of {samples} reading(s) from {from:F0} to {highest.WindowToSeconds:F0} s");
        return highest;
    }

    private static string FindRepoRoot()
    {
        for (var directory = new DirectoryInfo(Directory.GetCurrentDirectory()); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Fleet.sln")))
            {
                return directory.FullName;
            }
        }

        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Fleet.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Fleet.sln not found above the working directory: pass --repo DIR");
    }

    /// <summary>The 1-minute load average: other work on the machine makes wall times (not CPU times) noisy.</summary>
    private static string LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Split(' ')[0];
        }
        catch (IOException)
        {
            return "?";
        }
    }

    public static void Log(string line) => Console.Error.WriteLine($"[bench {DateTime.Now:HH:mm:ss}] {line}");
}
