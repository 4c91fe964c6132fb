using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Fleet.Bench.Metrics;

BenchOptions options;
try
{
    options = BenchOptions.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

if (options.Help)
{
    Console.WriteLine(BenchOptions.Usage);
    return 0;
}

if (options.Scenario is { } scenario)
{
    var result = await ScenarioRunner.RunAsync(options, scenario);
    Console.WriteLine(Report.ResultPrefix + JsonSerializer.Serialize(result));
    return 0;
}

return await Report.RunAllAsync(options, args);

/// <summary>The parent process: run information, the parity check, one child per scenario, the table and the decision.</summary>
internal static class Report
{
    public const string ResultPrefix = "RESULT ";

    private const double CpuRatioLimit = 2.0;
    private const long RssLimitBytes = 3L * 1024 * 1024;

    public static async Task<int> RunAllAsync(BenchOptions options, string[] args)
    {
        Console.WriteLine($"fleet-bench-metrics {string.Join(' ', args)}");
        Console.WriteLine($"  commit {await GitAsync("rev-parse", "--short", "HEAD")}{(string.IsNullOrEmpty(await GitAsync("status", "--porcelain", "--untracked-files=no")) ? string.Empty : " (work tree has uncommitted changes)")}");
        Console.WriteLine($"  {RuntimeInformation.FrameworkDescription}, {RuntimeInformation.OSDescription}, {Environment.ProcessorCount} cores, load average {LoadAverage()}");
        Console.WriteLine($"  prometheus-net {PackageVersion("prometheus-net")}, workstation non-concurrent GC, TieredPGO off (fleet-agent's settings)");
        Console.WriteLine($"  snapshot: {options.Shape} (--series-scale {options.SeriesScale.ToString(CultureInfo.InvariantCulture)})");
        Console.WriteLine($"  {options.Rounds} rounds of {options.Iterations} scrapes per child after {options.Warmup} (and >= 1 s) of warm-up; each scenario in a fresh child process, {options.Repeat} times per context");
        Console.WriteLine($"  contexts (what the process holds before the memory marks): {string.Join(", ", options.Contexts)}");
        Console.WriteLine();

        if (!await ParityCheckAsync(options))
        {
            return 1;
        }

        // Repeats outside, then contexts, scenarios inside: the scenarios compared with each other run close
        // together in time, and each figure is taken several times, so that a burst of load on the machine
        // (other builds) moves one sample, not the result.
        var results = new List<ScenarioResult>();
        for (var repeat = 1; repeat <= options.Repeat; repeat++)
        {
            foreach (var context in options.Contexts)
            {
                foreach (var scenario in options.Scenarios)
                {
                    Console.Error.WriteLine($"running {scenario} ({context}), {repeat}/{options.Repeat} ...");
                    results.Add(await RunChildAsync(options, scenario, context) with { Repeat = repeat });
                }
            }
        }

        Console.WriteLine();
        PrintTable(results);
        PrintSummary(results, options);
        return 0;
    }

    /// <summary>
    /// Renders the snapshot with the agent's writer, replays it into prometheus-net, and compares the two
    /// expositions series by series (name, type, label set, value); formatting and order may differ.
    /// </summary>
    private static async Task<bool> ParityCheckAsync(BenchOptions options)
    {
        var snapshot = SnapshotFactory.Primary(options.Shape);
        var bridge = AgentMetricsBridge.Create(SnapshotFactory.Archive());
        var buffer = new ArrayBufferWriter<byte>(256 * 1024);
        var series = bridge.Write(buffer, snapshot);
        var writerText = Encoding.UTF8.GetString(buffer.WrittenSpan);
        var model = TextExposition.Parse(writerText);

        var replay = PrometheusNetReplay.Create(model, cacheChildren: false);
        using var stream = new MemoryStream();
        await replay.ScrapeAsync(stream);
        var libraryText = Encoding.UTF8.GetString(stream.ToArray());
        var libraryModel = TextExposition.Parse(libraryText);

        var pg = model.Where(f => f.Name.StartsWith("fleet_pg_", StringComparison.Ordinal)).ToList();
        Console.WriteLine($"Exposition: {series} series in {model.Count} families, {buffer.WrittenCount:N0} bytes (writer) / {libraryText.Length:N0} bytes (prometheus-net)");
        Console.WriteLine($"  PostgreSQL families (fleet_pg_*): {pg.Sum(f => f.Series.Count)} series in {pg.Count} families; fleet_agent_*, fleet_archive_*, fleet_host_*: {series - pg.Sum(f => f.Series.Count)} series");
        var largest = model.OrderByDescending(f => f.Series.Count).Take(4).Select(f => $"{f.Name} {f.Series.Count}");
        Console.WriteLine($"  largest families: {string.Join(", ", largest)}");

        var a = TextExposition.SeriesKeys(model);
        var b = TextExposition.SeriesKeys(libraryModel);
        var onlyWriter = a.Keys.Except(b.Keys, StringComparer.Ordinal).ToList();
        var onlyLibrary = b.Keys.Except(a.Keys, StringComparer.Ordinal).ToList();
        var valueDiffs = a.Where(kv => b.TryGetValue(kv.Key, out var v) && !SameValue(kv.Value, v)).Select(kv => $"{kv.Key}: {kv.Value.ToString("R", CultureInfo.InvariantCulture)} vs {b[kv.Key].ToString("R", CultureInfo.InvariantCulture)}").ToList();
        var helpDiffs = model.Count(f => libraryModel.FirstOrDefault(l => l.Name == f.Name) is { } l && l.Help != f.Help);
        var mismatches = onlyWriter.Count + onlyLibrary.Count;
        Console.WriteLine($"Parity (series name + type + label set): {mismatches} mismatches ({onlyWriter.Count} only in the writer's, {onlyLibrary.Count} only in prometheus-net's); {valueDiffs.Count} value differences; {helpDiffs} HELP differences");
        foreach (var line in onlyWriter.Take(5).Select(k => $"  only writer: {k}").Concat(onlyLibrary.Take(5).Select(k => $"  only prometheus-net: {k}")).Concat(valueDiffs.Take(5).Select(k => $"  value: {k}")))
        {
            Console.WriteLine(line);
        }

        var formatting = FirstFormattingDifference(writerText, libraryText);
        if (formatting is not null)
        {
            Console.WriteLine($"  formatting differs, e.g. {formatting}");
        }

        Console.WriteLine();
        if (mismatches != 0)
        {
            Console.WriteLine("The two expositions do not carry the same series: the comparison would be unfair, stopping.");
            return false;
        }

        return true;
    }

    private static bool SameValue(double x, double y) =>
        x.Equals(y) || Math.Abs(x - y) <= 1e-12 * Math.Max(Math.Abs(x), Math.Abs(y));

    /// <summary>The first sample line of the writer's text that prometheus-net writes differently (same series, other text).</summary>
    private static string? FirstFormattingDifference(string writer, string library)
    {
        var libraryLines = library.Split('\n').ToHashSet(StringComparer.Ordinal);
        var line = writer.Split('\n').FirstOrDefault(l => l.Length > 0 && l[0] != '#' && !libraryLines.Contains(l));
        if (line is null)
        {
            return null;
        }

        var name = line[..line.IndexOfAny(['{', ' '])];
        var candidates = library.Split('\n').Where(l => l.StartsWith(name, StringComparison.Ordinal) && l.Length > name.Length && (l[name.Length] == '{' || l[name.Length] == ' ')).Take(1);
        return $"writer '{line}', prometheus-net '{candidates.FirstOrDefault()}'";
    }

    private static async Task<ScenarioResult> RunChildAsync(BenchOptions options, string scenario, string context)
    {
        var start = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            start.FileName = self;
            start.ArgumentList.Add(typeof(Report).Assembly.Location);
        }
        else
        {
            start.FileName = self;
        }

        foreach (var argument in options.ChildArguments(scenario, context))
        {
            start.ArgumentList.Add(argument);
        }

        using var child = Process.Start(start) ?? throw new InvalidOperationException("could not start the child process");
        var stdout = child.StandardOutput.ReadToEndAsync();
        var stderr = child.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(30));
        await child.WaitForExitAsync(timeout.Token);
        var output = await stdout;
        var line = output.Split('\n').FirstOrDefault(l => l.StartsWith(ResultPrefix, StringComparison.Ordinal));
        if (child.ExitCode != 0 || line is null)
        {
            throw new InvalidOperationException($"scenario {scenario} failed (exit {child.ExitCode}): {output}{await stderr}");
        }

        return JsonSerializer.Deserialize<ScenarioResult>(line[ResultPrefix.Length..]) ?? throw new InvalidOperationException("empty result");
    }

    private static void PrintTable(List<ScenarioResult> results)
    {
        Console.WriteLine("| context | scenario | # | series | bytes/scrape | CPU µs/scrape (median round; min–max) | wall µs/scrape | single scrape p50 / p99 µs | allocated B/scrape | gen0 / gen2 GCs | RSS before → after setup (Δ) | RSS after run (Δ) | managed heap Δ setup / run |");
        Console.WriteLine("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var r in results)
        {
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"| {r.Context} | {r.Scenario} | {r.Repeat} | {r.Series} | {r.BytesPerScrape:N0} | {r.CpuMicros:F1} ({r.CpuMicrosMin:F1}–{r.CpuMicrosMax:F1}) | {r.WallMicros:F1} | {r.ScrapeP50Micros:F1} / {r.ScrapeP99Micros:F1} | {r.AllocatedBytes:N0} | {r.Gen0Collections} / {r.Gen2Collections} | {Mb(r.RssBefore)} → {Mb(r.RssAfterSetup)} MB ({Delta(r.RssAfterSetup - r.RssBefore)}) | {Mb(r.RssAfterRun)} MB ({Delta(r.RssAfterRun - r.RssBefore)}) | {Delta(r.HeapAfterSetup - r.HeapBefore)} / {Delta(r.HeapAfterRun - r.HeapBefore)} |"));
        }

        Console.WriteLine();
        Console.WriteLine($"{results.FirstOrDefault()?.Iterations} scrapes per round; CPU is the process's (all threads: GC and JIT included); RSS is VmRSS after a full compacting GC.");
        Console.WriteLine("Setup RSS growth split into anonymous memory (heap, JIT code, stacks) and mapped files (assemblies, runtime and JIT libraries):");
        foreach (var r in results)
        {
            Console.WriteLine($"  {r.Context}, {r.Scenario} #{r.Repeat}: {Delta(r.AnonSetupDelta)} anonymous, {Delta(r.FileSetupDelta)} files; threads {r.ThreadsBefore} -> {r.ThreadsAfterSetup}; assemblies loaded: {(r.AssembliesLoaded.Count == 0 ? "none" : string.Join(", ", r.AssembliesLoaded))}");
        }
    }

    /// <summary>
    /// The result: CPU, wall and allocations per scrape pooled over every child of a scenario (they do not
    /// depend on the context), resident memory per context (median over the repeats), the ratios and the
    /// decision of the rule for each context.
    /// </summary>
    private static void PrintSummary(List<ScenarioResult> results, BenchOptions options)
    {
        Console.WriteLine();
        Console.WriteLine("Summary: CPU, wall and allocations per scrape = median over all children of the scenario (every context and repeat; min–max of the children's medians);");
        Console.WriteLine("resident memory = setup growth (RSS after creating the state and one scrape minus before, after full GCs), median over the repeats.");
        Console.WriteLine();
        Console.Write("| scenario | children | CPU µs/scrape | wall µs/scrape | allocated B/scrape |");
        foreach (var context in options.Contexts)
        {
            Console.Write($" RSS Δ setup, {context} |");
        }

        Console.WriteLine();
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: |" + string.Concat(options.Contexts.Select(_ => " ---: |")));
        foreach (var scenario in options.Scenarios)
        {
            var all = results.Where(r => r.Scenario == scenario).ToList();
            Console.Write(string.Create(
                CultureInfo.InvariantCulture,
                $"| {scenario} | {all.Count} | {Median(all.Select(r => r.CpuMicros)):F1} ({all.Min(r => r.CpuMicros):F1}–{all.Max(r => r.CpuMicros):F1}) | {Median(all.Select(r => r.WallMicros)):F1} | {Median(all.Select(r => r.AllocatedBytes)):N0} |"));
            foreach (var context in options.Contexts)
            {
                Console.Write($" {Delta(SetupGrowth(results, context, scenario))} |");
            }

            Console.WriteLine();
        }

        var writer = results.Where(r => r.Scenario == BenchOptions.Writer).ToList();
        if (writer.Count == 0)
        {
            return;
        }

        var writerCpu = Median(writer.Select(r => r.CpuMicros));
        var alone = results.Where(r => r.Scenario == BenchOptions.WriterBuffer).ToList();
        Console.WriteLine();
        var verdicts = new List<string>();
        foreach (var scenario in options.Scenarios.Where(s => s is BenchOptions.PrometheusNet or BenchOptions.PrometheusNetCached))
        {
            var library = results.Where(r => r.Scenario == scenario).ToList();
            var cpu = Median(library.Select(r => r.CpuMicros));
            var cpuRatio = cpu / writerCpu;
            var pairRatios = library.Select(l => l.CpuMicros / writer.First(w => w.Context == l.Context && w.Repeat == l.Repeat).CpuMicros).Order().ToList();
            var aloneText = alone.Count == 0 ? string.Empty : string.Create(CultureInfo.InvariantCulture, $"; against writer-buffer (the writer alone, no pipe) {cpu / Median(alone.Select(r => r.CpuMicros)):F2}x");
            var model = results.Where(r => r.Scenario == BenchOptions.WriterModel).ToList();
            var modelText = model.Count == 0 ? string.Empty : string.Create(CultureInfo.InvariantCulture, $"; against writer-model (same prepared input) {cpu / Median(model.Select(r => r.CpuMicros)):F2}x");
            var fastest = library.Min(r => r.CpuMicros) / writer.Min(r => r.CpuMicros);
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"{scenario} / writer: CPU {cpuRatio:F2}x ({cpu - writerCpu:F0} µs more per scrape; fastest child / fastest child {fastest:F2}x; ratios of the {pairRatios.Count} same-context, same-repeat pairs {pairRatios[0]:F2}–{pairRatios[^1]:F2}, median {Median(pairRatios):F2}){aloneText}{modelText}"));
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"    wall {Median(library.Select(r => r.WallMicros)) / Median(writer.Select(r => r.WallMicros)):F2}x, allocations {Median(library.Select(r => r.AllocatedBytes)) / Math.Max(1, Median(writer.Select(r => r.AllocatedBytes))):F1}x"));
            foreach (var context in options.Contexts)
            {
                var rss = SetupGrowth(results, context, scenario) - SetupGrowth(results, context, BenchOptions.Writer);
                var keep = cpuRatio > CpuRatioLimit || rss > RssLimitBytes;
                var verdict = string.Create(
                    CultureInfo.InvariantCulture,
                    $"[{context}] resident memory {Delta(rss)} -> CPU {(cpuRatio > CpuRatioLimit ? "over" : "within")} 2x, memory {(rss > RssLimitBytes ? "over" : "within")} 3 MB: {(keep ? "keep the hand-written writer" : "prometheus-net acceptable")}");
                Console.WriteLine("    " + verdict);
                if (scenario == BenchOptions.PrometheusNet)
                {
                    verdicts.Add(verdict);
                }
            }
        }

        if (verdicts.Count > 0)
        {
            Console.WriteLine();
            Console.WriteLine("Decision by the rule (keep the writer if prometheus-net costs > 2x the CPU per scrape or > 3 MB resident), for prometheus-net");
            Console.WriteLine("as a port would use it (WithLabels per series per scrape) against the endpoint's path (writer). Contexts: bare = a console process;");
            Console.WriteLine("agent = fleet-agent without prometheus-net (before d43ac15; the framework assemblies it maps preloaded); agent+prometheus-net =");
            Console.WriteLine("fleet-agent since d43ac15, which already uses prometheus-net for its process/runtime/HTTP/gRPC metrics (the case that applies now):");
            foreach (var verdict in verdicts)
            {
                Console.WriteLine("  " + verdict);
            }
        }
    }

    private static long SetupGrowth(List<ScenarioResult> results, string context, string scenario)
    {
        var growth = results.Where(r => r.Context == context && r.Scenario == scenario).Select(r => (double)(r.RssAfterSetup - r.RssBefore)).ToList();
        return growth.Count == 0 ? 0 : (long)Median(growth);
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? double.NaN
            : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2]
            : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static string Mb(long bytes) => (bytes / 1048576.0).ToString("F1", CultureInfo.InvariantCulture);

    private static string Delta(long bytes) => bytes >= 0
        ? string.Create(CultureInfo.InvariantCulture, $"+{bytes / 1048576.0:F2} MB")
        : string.Create(CultureInfo.InvariantCulture, $"{bytes / 1048576.0:F2} MB");

    /// <summary>A package's version from this executable's deps.json (prometheus-net's assembly version is 8.0.0.0 for every 8.x).</summary>
    private static string PackageVersion(string package)
    {
        var deps = Path.Combine(AppContext.BaseDirectory, "fleet-bench-metrics.deps.json");
        var marker = $"\"{package}/";
        var text = File.Exists(deps) ? File.ReadAllText(deps) : string.Empty;
        var start = text.IndexOf(marker, StringComparison.Ordinal);
        return start < 0 ? "(version unknown)" : text[(start + marker.Length)..text.IndexOf('"', start + marker.Length)];
    }

    private static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    private static async Task<string> GitAsync(params string[] arguments)
    {
        try
        {
            var start = new ProcessStartInfo("git") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var argument in arguments)
            {
                start.ArgumentList.Add(argument);
            }

            using var git = Process.Start(start);
            if (git is null)
            {
                return "unknown";
            }

            var output = await git.StandardOutput.ReadToEndAsync();
            await git.WaitForExitAsync();
            return git.ExitCode == 0 ? output.Trim() : "unknown";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "unknown (no git)";
        }
    }
}
