using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Fleet.LocalFleet.Postgres;
using Fleet.Testing;
using Fleet.Testing.Etcd;

// Leader hand-over of real fleet-aggregator processes (Coordination:Mode=Etcd, the product's default timings) on a
// real three-member etcd on loopback. Per trial: three aggregators start, one leads and the others name it; the
// leader is killed (SIGKILL: its lease must run out on etcd) or stopped (SIGTERM: it revokes its lease); the time
// until another aggregator reports itself leading is measured. Bounded: at most 50 trials, each with timeouts.
var trials = 10;
for (var i = 0; i < args.Length; i++)
{
    if (args[i] == "--trials" && i + 1 < args.Length && int.TryParse(args[++i], CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 50)
    {
        trials = n;
    }
    else
    {
        Console.Error.WriteLine("usage: Fleet.Bench.Coordination [--trials 1..50]   (default 10 of each stop kind)");
        return 2;
    }
}

await using var etcd = await EtcdCluster.StartAsync(3);
using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
var results = new Dictionary<string, List<double>> { ["SIGKILL"] = [], ["SIGTERM"] = [] };
Console.WriteLine($"etcd: 3 members ({string.Join(", ", etcd.Endpoints)}); 3 fleet-aggregator processes per trial; defaults: LeaseTtl 6 s, RenewInterval 1 s, StepDownMargin 2 s");
for (var trial = 1; trial <= trials; trial++)
{
    foreach (var kind in results.Keys)
    {
        var ms = await TrialAsync(kind, trial);
        results[kind].Add(ms);
        Console.WriteLine($"trial {trial,2} {kind}: a new leader acts {ms,6:F0} ms after the stop");
    }
}

Console.WriteLine();
Console.WriteLine("| leader stopped by | trials | median | min | max |");
Console.WriteLine("| --- | --- | --- | --- | --- |");
foreach (var (kind, values) in results)
{
    var sorted = values.Order().ToList();
    var median = sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    Console.WriteLine($"| {kind} | {sorted.Count} | {median / 1000:F2} s | {sorted[0] / 1000:F2} s | {sorted[^1] / 1000:F2} s |");
}

return 0;

async Task<double> TrialAsync(string kind, int trial)
{
    var prefix = $"/fleet-bench-{Guid.NewGuid():N}"[..20];
    var directory = Directory.CreateTempSubdirectory("fleet-bench-coordination-").FullName;
    var aggregators = new List<(string Name, ChildDaemon Process, Uri Http)>();
    try
    {
        for (var i = 0; i < 3; i++)
        {
            var name = $"agg-{i}";
            var port = FreeTcpPort.PickConsecutive(2);
            var config = Path.Combine(directory, name + ".json");
            await File.WriteAllTextAsync(config, JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["Region"] = "bench",
                ["InstanceId"] = name,
                ["Listen"] = new Dictionary<string, string> { ["Grpc"] = $"127.0.0.1:{port}", ["Http"] = $"127.0.0.1:{port + 1}" },
                ["Store"] = new Dictionary<string, string> { ["Path"] = Path.Combine(directory, name + ".db") },
                ["Logging"] = new Dictionary<string, object> { ["LogLevel"] = new Dictionary<string, string> { ["Default"] = "Warning" } },
                ["Coordination"] = new Dictionary<string, object>
                {
                    ["Mode"] = "Etcd",
                    ["Name"] = name,
                    ["Etcd"] = new Dictionary<string, object> { ["Endpoints"] = etcd.Endpoints, ["Prefix"] = prefix },
                },
            }));
            aggregators.Add((name, ChildDaemon.Start("fleet-aggregator.dll", ["--config", config], []), new Uri($"http://127.0.0.1:{port + 1}/api/v1/leadership")));
        }

        var leader = await WaitAsync(async () =>
        {
            var views = await Task.WhenAll(aggregators.Select(a => ViewAsync(a.Http)));
            var leading = aggregators.Where((_, i) => views[i]?.IsLeader == true).ToList();
            return leading.Count == 1 && views.All(v => v?.Leader == leading[0].Name) ? leading[0] : default;
        }, TimeSpan.FromSeconds(60), $"trial {trial}: one leader named by all");

        var others = aggregators.Where(a => a.Name != leader.Name).ToList();
        var clock = Stopwatch.StartNew();
        if (kind == "SIGKILL")
        {
            await leader.Process.DisposeAsync(); // SIGKILL: no resignation, the lease must expire on etcd
        }
        else
        {
            await leader.Process.TerminateAsync(TimeSpan.FromSeconds(10));
        }

        aggregators.Remove(leader);
        await WaitAsync(async () => (await Task.WhenAll(others.Select(o => ViewAsync(o.Http)))).Any(v => v?.IsLeader == true) ? (object)true : null,
            TimeSpan.FromSeconds(60), $"trial {trial}: a new leader after {kind}");
        return clock.Elapsed.TotalMilliseconds;
    }
    finally
    {
        foreach (var aggregator in aggregators)
        {
            await aggregator.Process.DisposeAsync();
        }

        Directory.Delete(directory, recursive: true);
    }
}

async Task<View?> ViewAsync(Uri uri)
{
    try
    {
        var body = await http.GetFromJsonAsync<JsonElement>(uri);
        return new View(body.GetProperty("isLeader").GetBoolean(), body.GetProperty("leader").GetString());
    }
    catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
    {
        return null; // not listening yet, or gone
    }
}

static async Task<T> WaitAsync<T>(Func<Task<T?>> probe, TimeSpan timeout, string what)
{
    var deadline = Stopwatch.StartNew();
    while (deadline.Elapsed < timeout)
    {
        if (await probe() is { } value && !EqualityComparer<T>.Default.Equals(value, default))
        {
            return value;
        }

        await Task.Delay(10);
    }

    throw new TimeoutException($"timed out waiting for {what}");
}

internal sealed record View(bool IsLeader, string? Leader);
