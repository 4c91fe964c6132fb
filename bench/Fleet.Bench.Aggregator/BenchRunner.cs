using System.Diagnostics;
using System.Globalization;
using Fleet.Bench.Aggregator.Measurement;
using Fleet.Bench.Aggregator.Reporting;
using Fleet.Bench.Aggregator.Simulation;
using Fleet.Bench.Aggregator.Target;
using Fleet.Hosting.Grpc;
using Fleet.Protos.V1;
using Fleet.Testing.Etcd;

namespace Fleet.Bench.Aggregator;

/// <summary>
/// One run: start the aggregator, open the latency watch, connect the agents over the ramp, let the load
/// settle, measure a window, then stop everything and report.
/// </summary>
internal static class BenchRunner
{
    public static async Task<int> RunAsync(BenchOptions options, IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        var tempDirectory = Directory.CreateTempSubdirectory("fleet-bench-aggregator-").FullName;
        try
        {
            return await RunInAsync(options, args, tempDirectory, cancellationToken);
        }
        finally
        {
            if (options.KeepTemp)
            {
                Log($"kept {tempDirectory}");
            }
            else
            {
                TryDelete(tempDirectory);
            }
        }
    }

    private static async Task<EtcdCluster> StartEtcdAsync()
    {
        Log("starting a three-member etcd on loopback");
        return await EtcdCluster.StartAsync(3);
    }

    /// <summary>In Etcd mode the load starts once the aggregator leads (it is alone, so within a renewal interval).</summary>
    private static async Task WaitUntilLeaderAsync(AggregatorTarget target, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var body = await http.GetStringAsync(new Uri(target.HttpAddress, "/api/v1/leadership"), cancellationToken);
            if (body.Contains("\"isLeader\":true", StringComparison.Ordinal))
            {
                Log("the aggregator leads its region");
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"the aggregator did not become the leader within 30 s: {body}");
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    private static async Task<int> RunInAsync(BenchOptions options, IReadOnlyList<string> args, string tempDirectory, CancellationToken cancellationToken)
    {
        var settings = AggregatorSettings.Create(tempDirectory, options);
        await using var etcd = options.Etcd ? await StartEtcdAsync() : null;
        if (etcd is not null)
        {
            var coordination = new Dictionary<string, string?>
            {
                ["Coordination:Mode"] = "Etcd",
                ["Coordination:Name"] = "bench-aggregator",
                ["Coordination:Etcd:Prefix"] = "/fleet-bench",
            };
            for (var i = 0; i < etcd.Endpoints.Count; i++)
            {
                coordination[$"Coordination:Etcd:Endpoints:{i.ToString(CultureInfo.InvariantCulture)}"] = etcd.Endpoints[i];
            }

            settings = settings with { Extra = coordination };
        }

        AggregatorTarget target;
        if (options.InProcess)
        {
            target = new InProcessAggregator(settings);
        }
        else
        {
            var dll = options.AggregatorDll ?? await BuildAggregatorAsync(options, cancellationToken);
            if (dll is null)
            {
                return 1;
            }

            target = new ChildAggregator(settings, Path.GetFullPath(dll), tempDirectory);
        }

        var source = await SourceRevisionAsync(options.InProcess ? AppContext.BaseDirectory : Path.GetDirectoryName(((ChildAggregator)target).DllPath)!, cancellationToken);

        var fleet = FleetModel.Create(options.Agents, options.ClusterSize);
        var counters = new LoadCounters();
        var nodeIndex = fleet.Nodes.ToDictionary(n => n.Name, n => n.Index, StringComparer.Ordinal);
        var agents = fleet.Nodes.Select(n => new SimulatedAgent(n, options.Interval, counters)).ToArray();
        var result = new BenchResult { Options = options, Arguments = string.Join(' ', args), Clusters = fleet.Clusters.Count, Source = source };

        await using (target)
        {
            Log($"starting the aggregator ({(options.InProcess ? "in process" : "child process")}) on gRPC {target.GrpcAddress} and HTTP {target.HttpAddress}");
            var startClock = Stopwatch.StartNew();
            await target.StartAsync(cancellationToken);
            Log($"aggregator ready in {startClock.Elapsed.TotalSeconds:F1} s: {target.Description}");
            if (etcd is not null)
            {
                await WaitUntilLeaderAsync(target, cancellationToken);
            }

            result.Target = target.Description + (etcd is null ? string.Empty : "; Coordination:Mode Etcd, the elected leader on a three-member etcd (loopback)");
            result.GcMode = target.GcMode;
            result.Isolated = target.Isolated;
            result.IdleRss = target.ReadMemory()?.RssBytes ?? 0;

            using var scraper = new MetricsScraper(target.HttpAddress);
            using var loadCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var channelCount = (options.Agents + options.AgentsPerChannel - 1) / options.AgentsPerChannel;
            var channels = Enumerable.Range(0, channelCount).Select(_ => GrpcChannels.ForAddress(target.GrpcAddress)).ToArray();
            var linkClients = channels.Select(c => new AgentLink.AgentLinkClient(c)).ToArray();
            using var watchChannel = GrpcChannels.ForAddress(target.GrpcAddress, new GrpcClientOptions { MaxReceiveMessageSize = 64 * 1024 * 1024 });
            var watchClient = new FleetService.FleetServiceClient(watchChannel);
            var watches = new List<WatchProbe>();
            var watchTasks = new List<Task>();
            var agentTasks = new List<Task>(agents.Length);
            try
            {
                WatchProbe? probe = null;
                if (options.Watch)
                {
                    probe = new WatchProbe(watchClient, includeSnapshots: true, counters, nodeIndex);
                    watches.Add(probe);
                }

                for (var i = 0; i < options.DashboardWatches; i++)
                {
                    watches.Add(new WatchProbe(watchClient, includeSnapshots: false, counters, nodeIndex));
                }

                foreach (var watch in watches)
                {
                    watchTasks.Add(Task.Run(() => watch.RunAsync(loadCts.Token), CancellationToken.None));
                    await watch.InitialState.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
                }

                Log($"{watches.Count} watch(es) open; ramping {options.Agents} agents ({fleet.Clusters.Count} clusters of {options.ClusterSize}) " +
                    $"over {options.Ramp.TotalSeconds:F0} s on {channelCount} channels, reports every {options.Interval.TotalMilliseconds:F0} ms");

                // Ramp: agent i starts at i × ramp / N.
                var rampClock = Stopwatch.StartNew();
                var progress = new ProgressPrinter(options, target, counters, probe, rampClock);
                var progressTask = progress.RunAsync(loadCts.Token);
                for (var i = 0; i < agents.Length; i++)
                {
                    var startAt = TimeSpan.FromTicks(options.Ramp.Ticks * i / agents.Length);
                    var wait = startAt - rampClock.Elapsed;
                    if (wait > TimeSpan.FromMilliseconds(1))
                    {
                        await Task.Delay(wait, cancellationToken);
                    }

                    var agent = agents[i];
                    var client = linkClients[i / options.AgentsPerChannel];
                    agentTasks.Add(Task.Run(() => agent.RunAsync(client, loadCts.Token), CancellationToken.None));
                }

                progress.Phase = "warmup";
                var steadyAt = options.Ramp + options.Warmup;
                while (rampClock.Elapsed < steadyAt)
                {
                    await Task.Delay(steadyAt - rampClock.Elapsed, cancellationToken);
                }

                // Window: scrape first (the scrape itself is heavy at this scale: keep its cost out of the window), let it settle, then measure.
                var before = await scraper.ScrapeAsync(cancellationToken);
                result.ScrapeTimes.Add(before.Took);
                await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
                result.ConnectedAtStart = counters.Connected;
                result.Http2Connections = ProcStats.EstablishedConnections(settings.GrpcPort);
                var cpuBefore = target.ReadCpu();
                var benchCpuBefore = options.InProcess ? default : ProcStats.CurrentProcessCpu();
                var machineBefore = ProcStats.MachineCpu();
                var windowStart = DateTime.UtcNow;
                var windowClock = Stopwatch.StartNew();
                counters.OpenWindow(windowStart);
                progress.Phase = "measure";
                var rssSamples = new List<long>();
                while (windowClock.Elapsed < options.Duration)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(1000, Math.Max(1, (options.Duration - windowClock.Elapsed).TotalMilliseconds))), cancellationToken);
                    if (target.ReadMemory() is { } memory)
                    {
                        rssSamples.Add(memory.RssBytes);
                    }

                    if (!target.IsRunning)
                    {
                        break;
                    }
                }

                var windowEnd = DateTime.UtcNow;
                counters.CloseWindow(windowEnd);
                var windowSeconds = windowClock.Elapsed.TotalSeconds;
                var cpuAfter = target.ReadCpu();
                var benchCpuAfter = options.InProcess ? default : ProcStats.CurrentProcessCpu();
                var machineAfter = ProcStats.MachineCpu();
                var memoryAfter = target.ReadMemory();
                result.ConnectedAtEnd = counters.Connected;
                progress.Phase = "grace";
                var after = await scraper.ScrapeAsync(cancellationToken);
                result.ScrapeTimes.Add(after.Took);
                await Task.Delay(options.Grace, cancellationToken);

                result.WindowSeconds = windowSeconds;
                result.ReportsSentInWindow = counters.WindowReports;
                result.AggregatorReports = after.ReportsTotal - before.ReportsTotal;
                result.AggregatorReportsSeconds = (after.At - before.At).TotalSeconds;
                result.AggregatorConnected = after.Connected;
                result.AggregatorStale = after.Stale;
                result.EventsDropped = after.EventsDropped;
                result.AggregatorCpu = cpuAfter - cpuBefore;
                result.BenchCpu = options.InProcess ? null : benchCpuAfter - benchCpuBefore;
                result.MachineBusyFraction = (double)(machineAfter.Busy - machineBefore.Busy) / Math.Max(1, machineAfter.Total - machineBefore.Total);
                result.RssEnd = memoryAfter?.RssBytes ?? 0;
                result.RssPeak = memoryAfter?.PeakRssBytes ?? 0;
                result.RssMax = rssSamples.Count > 0 ? rssSamples.Max() : result.RssEnd;
                result.Threads = memoryAfter?.Threads ?? 0;
                result.BenchRss = ProcStats.Memory(Environment.ProcessId)?.RssBytes ?? 0;
                result.ScheduleLag = counters.ScheduleLag.Summarize();
                result.WriteTime = counters.WriteTime.Summarize();
                result.SkippedSlots = counters.SkippedSlots;
                result.StreamFailures = counters.StreamFailures;
                result.Errors = counters.Errors.OrderByDescending(e => e.Value).ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal);
                result.Welcomed = counters.Welcomed;
                result.AverageReportBytes = counters.ReportsSent == 0 ? 0 : (double)counters.BytesSent / counters.ReportsSent;
                result.Channels = channelCount;
                if (probe is not null)
                {
                    result.Latency = probe.Total.Summarize();
                    result.LatencyIngest = probe.Ingest.Summarize();
                    result.LatencyPublish = probe.Publish.Summarize();
                    result.LatencyDelivery = probe.Delivery.Summarize();
                    result.NegativeSamples = probe.Total.Negative + probe.Ingest.Negative + probe.Publish.Negative + probe.Delivery.Negative;
                    result.VisibleInWindow = probe.WindowMatched;
                    result.StaleChanges = probe.WindowStale;
                    result.AlertChanges = probe.WindowAlerts;
                }

                foreach (var watch in watches)
                {
                    lock (watch.Failures)
                    {
                        result.WatchFailures.AddRange(watch.Failures);
                    }
                }

                result.DashboardChanges = watches.Where(w => !w.IncludeSnapshots).Select(w => w.Changes).ToList();
                result.AggregatorAlive = target.IsRunning;
                if (target is ChildAggregator child)
                {
                    result.AggregatorLogLines = child.LogLines;
                    result.AggregatorDll = child.DllPath;
                }
            }
            finally
            {
                Log("stopping agents");
                await loadCts.CancelAsync();
                await WaitQuietly(agentTasks, TimeSpan.FromSeconds(30));
                await WaitQuietly(watchTasks, TimeSpan.FromSeconds(10));
                foreach (var channel in channels)
                {
                    channel.Dispose();
                }
            }
        }

        if (target is ChildAggregator stopped)
        {
            result.AggregatorExitCode = stopped.ExitCode;
            if (!result.AggregatorAlive)
            {
                Log($"the aggregator died during the run; its log:\n{stopped.Tail(40)}");
            }
        }

        ConsoleReport.Print(result, Console.Out);
        if (options.JsonPath is { } jsonPath)
        {
            JsonReport.Write(result, jsonPath);
            Log($"wrote {jsonPath}");
        }

        return result.Verdict.Met ? 0 : 3;
    }

    /// <summary>Builds the aggregator in Release and returns its dll, or null (with the build output) if that fails.</summary>
    private static async Task<string?> BuildAggregatorAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        var repo = options.RepoRoot ?? FindRepoRoot();
        if (repo is null)
        {
            await Console.Error.WriteLineAsync("error: repository root (Fleet.sln) not found from the working directory; pass --repo DIR or --aggregator-dll PATH");
            return null;
        }

        var project = Path.Combine(repo, "aggregator", "Fleet.Aggregator", "Fleet.Aggregator.csproj");
        var dll = Path.Combine(repo, "aggregator", "Fleet.Aggregator", "bin", "Release", "net10.0", "fleet-aggregator.dll");
        if (options.NoBuild)
        {
            return File.Exists(dll) ? dll : Fail($"{dll} does not exist; build it (dotnet build -c Release) or drop --no-build");
        }

        Log($"building {project} (Release)");
        var build = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "build", project, "-c", "Release", "--nologo", "-v", "quiet" })
        {
            build.ArgumentList.Add(arg);
        }

        using var process = Process.Start(build) ?? throw new InvalidOperationException("could not start dotnet build");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            await Console.Error.WriteLineAsync(await stdout + await stderr);
            return Fail("building the aggregator failed (output above); pass --no-build to use the last build");
        }

        return dll;

        static string? Fail(string message)
        {
            Console.Error.WriteLine("error: " + message);
            return null;
        }
    }

    /// <summary>"git abc1234 (+3 files modified under aggregator/ common/ protos/)" for the tree the aggregator was built from.</summary>
    private static async Task<string> SourceRevisionAsync(string directory, CancellationToken cancellationToken)
    {
        var head = await GitAsync(directory, ["rev-parse", "--short", "HEAD"], cancellationToken);
        if (head is null)
        {
            return "not a git checkout";
        }

        var top = await GitAsync(directory, ["rev-parse", "--show-toplevel"], cancellationToken);
        var status = top is null ? null : await GitAsync(top, ["status", "--porcelain", "--", "aggregator", "common", "protos"], cancellationToken);
        var modified = status?.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length ?? 0;
        return modified == 0 ? $"git {head}" : $"git {head} + {modified} uncommitted file(s) under aggregator/ common/ protos/";
    }

    private static async Task<string?> GitAsync(string directory, string[] args, CancellationToken cancellationToken)
    {
        try
        {
            var start = new ProcessStartInfo("git") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = directory };
            foreach (var arg in args)
            {
                start.ArgumentList.Add(arg);
            }

            using var process = Process.Start(start);
            if (process is null)
            {
                return null;
            }

            var output = await process.StandardOutput.ReadToEndAsync(cancellationToken);
            await process.WaitForExitAsync(cancellationToken);
            return process.ExitCode == 0 ? output.Trim() : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    private static string? FindRepoRoot()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Fleet.sln")))
                {
                    return dir.FullName;
                }
            }
        }

        return null;
    }

    private static async Task WaitQuietly(List<Task> tasks, TimeSpan timeout)
    {
        try
        {
            await Task.WhenAll(tasks).WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            Log($"{tasks.Count(t => !t.IsCompleted)} task(s) did not stop within {timeout.TotalSeconds:F0} s");
        }
        catch (Exception ex) when (ex is OperationCanceledException or Grpc.Core.RpcException)
        {
        }
    }

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    public static void Log(string message) =>
        Console.Error.WriteLine($"[bench {DateTime.Now.ToString("HH:mm:ss", CultureInfo.InvariantCulture)}] {message}");
}
