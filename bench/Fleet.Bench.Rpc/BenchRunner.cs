using System.Globalization;
using Fleet.Bench.Rpc.Measurement;
using Fleet.Bench.Rpc.Reporting;
using Fleet.Bench.Rpc.Scenarios;
using Fleet.Bench.Rpc.Servers;

namespace Fleet.Bench.Rpc;

/// <summary>Runs every scenario against every server, one server at a time, and reports.</summary>
internal static class BenchRunner
{
    public static async Task<int> RunAsync(BenchOptions options, IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        var info = RunInfo.Capture(args);
        var recorder = new LatencyRecorder(options.MaxCalls);
        var results = new List<ScenarioResult>();
        var servers = new List<(string Name, string Description)>();
        foreach (var name in options.Servers)
        {
            Progress($"starting server {name}");
            await using var server = await BenchServers.StartAsync(name, options, cancellationToken);
            servers.Add((server.Name, server.Description));
            if (options.Scenarios.Contains(BenchOptions.Unary))
            {
                foreach (var callers in options.Callers)
                {
                    Progress($"{name}: unary, {callers} caller(s)");
                    results.Add(await UnaryScenario.RunAsync(server, callers, options, recorder, cancellationToken));
                    Progress(Summary(results[^1]));
                }
            }

            if (options.Scenarios.Contains(BenchOptions.Stream))
            {
                Progress($"{name}: server stream");
                results.Add(await StreamScenario.RunAsync(server, options, cancellationToken));
                Progress(Summary(results[^1]));
            }
        }

        Console.Out.Write(ConsoleReport.Format(info, options, servers, results));
        if (options.JsonPath is { } path)
        {
            JsonReport.Write(path, info, options, servers, results);
            Progress($"wrote {path}");
        }

        return results.Any(r => r.Errors > 0) ? 1 : 0;
    }

    private static string Summary(ScenarioResult r) =>
        string.Create(CultureInfo.InvariantCulture, $"  {r.PerSecond:N0}/s ({r.Count:N0} in {r.Seconds:0.00} s, {r.Errors} errors)");

    /// <summary>Progress goes to stderr so stdout carries only the report.</summary>
    private static void Progress(string message) => Console.Error.WriteLine($"[bench] {message}");
}
