using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using Fleet.Bench.Failover;
using Fleet.Chaos;

// Fleet.Bench.Failover: see bench/README.md ("Failover"). Progress goes to stderr, the tables to stdout.
var (options, error) = BenchOptions.Parse(args);
if (options is null)
{
    if (error == "help")
    {
        Console.WriteLine(BenchOptions.Usage);
        return 0;
    }

    await Console.Error.WriteLineAsync(error);
    await Console.Error.WriteLineAsync(BenchOptions.Usage);
    return 2;
}

using var interrupted = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // The first Ctrl-C ends the run after the current trial (its fleet is torn down); a second one exits at once.
    if (!interrupted.IsCancellationRequested)
    {
        e.Cancel = true;
        interrupted.Cancel();
        Log("interrupted: stopping after the current trial");
    }
};

var trialTimeout = TimeSpan.FromMinutes(5);
var optimized = typeof(WritingScenario).Assembly.GetCustomAttribute<DebuggableAttribute>()?.IsJITOptimizerDisabled != true;
var started = DateTimeOffset.UtcNow;
var random = new Random(options.Seed);
string? binDirectory = null;
Log($"seed {options.Seed}; {options.Trials} trial(s) of {string.Join(", ", options.Scenarios.Select(s => s.Key))}; {(options.Synchronous ? "synchronous" : "asynchronous")} replication");
var summaries = new List<ScenarioSummary>();
foreach (var scenario in options.Scenarios)
{
    var trials = new List<TrialResult>();
    for (var trial = 1; trial <= options.Trials && !interrupted.IsCancellationRequested; trial++)
    {
        var delay = TimeSpan.FromMilliseconds(random.Next(0, 1001));
        var clock = Stopwatch.StartNew();
        TrialResult result;
        try
        {
            result = await TrialRunner.RunAsync(scenario, trial, delay, options, Log, bin => binDirectory ??= bin).WaitAsync(trialTimeout);
        }
        catch (TimeoutException)
        {
            // Every wait inside a trial is bounded; this is the backstop. The fleet may still run until the process exits.
            result = new TrialResult { Scenario = scenario.Key, Trial = trial, FaultDelayMs = (int)delay.TotalMilliseconds, Error = $"the trial did not finish within {trialTimeout.TotalMinutes:F0} min" };
        }

        trials.Add(result);
        Log($"{scenario.Key} trial {trial}/{options.Trials} ({clock.Elapsed.TotalSeconds:F0} s): " + (result.Ok
            ? $"writable on {result.WritableOn} {result.WritableAfterSeconds:F3} s after the fault at +{result.FaultDelayMs} ms; {result.Lost} of {result.Acknowledged} acknowledged rows lost; split brain: {result.SplitBrain ?? "no"}"
            : "FAILED: " + result.Error));
    }

    summaries.Add(new ScenarioSummary(scenario, trials));
}

var run = new RunInfo(
    options.Seed,
    options.Trials,
    options.Synchronous,
    Environment.ProcessorCount,
    RuntimeInformation.FrameworkDescription,
    binDirectory is null ? "PostgreSQL not started" : await PostgresVersionAsync(binDirectory),
    optimized ? "Release" : "DEBUG build: figures are meaningless, use -c Release",
    File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a",
    started);
Console.Write(Report.Render(run, summaries));
if (options.JsonPath is { } jsonPath)
{
    await Report.WriteJsonAsync(jsonPath, run, summaries);
    Log($"wrote {jsonPath}");
}

return interrupted.IsCancellationRequested ? 130
    : summaries.Any(s => s.Failed > 0) ? 1
    : summaries.All(s => s.TargetMet) ? 0 : 3;

static void Log(string line) => Console.Error.WriteLine($"[bench] {DateTime.UtcNow:HH:mm:ss} {line}");

static async Task<string> PostgresVersionAsync(string binDirectory)
{
    try
    {
        using var process = Process.Start(new ProcessStartInfo(Path.Combine(binDirectory, "postgres"), "--version") { RedirectStandardOutput = true })!;
        var version = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        return version.Trim();
    }
    catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or TimeoutException or IOException)
    {
        return "PostgreSQL (version unknown)";
    }
}
