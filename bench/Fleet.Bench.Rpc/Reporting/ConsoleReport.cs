using System.Globalization;
using System.Text;
using Fleet.Bench.Rpc.Measurement;
using Fleet.Bench.Rpc.Scenarios;

namespace Fleet.Bench.Rpc.Reporting;

/// <summary>The human-readable report printed to stdout at the end of a run.</summary>
internal static class ConsoleReport
{
    public const double UnaryTarget = 20_000;
    public const int UnaryTargetCallers = 64;
    public const double StreamTarget = 200_000;

    public static string Format(RunInfo info, BenchOptions options, IReadOnlyList<(string Name, string Description)> servers, IReadOnlyList<ScenarioResult> results)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"gRPC benchmark of {info.Stack} (Fleet's wiring), {info.StartedUtc:yyyy-MM-dd HH:mm:ss}Z\n");
        text.Append(CultureInfo.InvariantCulture, $"command    {info.CommandLine}\n");
        text.Append(CultureInfo.InvariantCulture, $"machine    {info.Cores} cores (Environment.ProcessorCount), {info.CpuModel}, {info.Os}\n");
        text.Append(CultureInfo.InvariantCulture, $"runtime    {info.Runtime}, {info.Build}; GC {info.Gc}; {info.Jit} (runtimeconfig)\n");
        if (info.RuntimeEnvironment.Count > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"env        {string.Join(' ', info.RuntimeEnvironment)} (overrides the runtimeconfig in both Fleet processes)\n");
        }

        text.Append("transport  h2c (cleartext HTTP/2, prior knowledge) over loopback to 127.0.0.1; Grpc.Net.Client GrpcChannel client in this process,\n");
        text.Append("           made by Fleet.Hosting GrpcChannels.ForAddress (SocketsHttpHandler) as every Fleet client makes it\n");
        text.Append(CultureInfo.InvariantCulture, $"           {options.Channels} GrpcChannel(s) per scenario, callers spread round robin\n");
        foreach (var (name, description) in servers)
        {
            text.Append(CultureInfo.InvariantCulture, $"server     {name}: {description}\n");
        }

        var deadline = options.Deadline is { } d ? $"{d.TotalMilliseconds:0} ms deadline per call" : "no deadline";
        text.Append(CultureInfo.InvariantCulture, $"load       unary Echo{{text:\"x\", reply_payload_size:{options.PayloadSize}}}, closed loop, {deadline}; stream Expand{{count:{options.MaxMessages}, payload_size:{options.PayloadSize}}}\n");
        text.Append(CultureInfo.InvariantCulture, $"           warm-up {options.Warmup.TotalSeconds:0.#}-{options.MaxWarmup.TotalSeconds:0.#} s (until the JIT settles), then {options.Duration.TotalSeconds:0.#} s measured per scenario;\n");
        text.Append(CultureInfo.InvariantCulture, $"           caps {options.MaxCalls:N0} calls per unary scenario, {options.MaxMessages:N0} messages per stream\n");
        text.Append("CPU        per process in each measured window: CPU s = user + system; cores = CPU s / wall s; client and server share\n");
        text.Append("           the machine's cores. other = machine busy (/proc/stat) minus both processes: other programs and kernel\n");
        text.Append("           work not charged to either (a busy 'other' means noisy figures). CPU/op = client + server CPU per call or message;\n");
        text.Append("           client B/op and GCs = managed allocations and collections of the benchmark process (includes the server in fleet-inproc);\n");
        text.Append("           JIT ms c/s = time client / Fleet server spent compiling methods in the window (high = not warm). Warm-up runs\n");
        text.Append("           until a 1 s slice with < 20 ms JIT in both (JIT busy = stopped at --max-warmup first)\n\n");

        var unary = results.Where(r => r.Scenario == BenchOptions.Unary).ToList();
        if (unary.Count > 0)
        {
            var table = new TextTable("unary", "callers", "calls", "calls/s", "mean us", "p50 us", "p90 us", "p99 us", "max us", "errors");
            foreach (var r in unary)
            {
                var l = r.Latency!;
                table.Add(r.Server, Int(r.Concurrency), Int(r.Count) + (r.Capped ? " (cap)" : string.Empty), Int(r.PerSecond), F1(l.MeanUs), F1(l.P50Us), F1(l.P90Us), F1(l.P99Us), F1(l.MaxUs), Int(r.Errors));
            }

            text.Append("Unary round trips (latency of successful calls, from call start to response)\n").Append(table).Append('\n');
        }

        var streams = results.Where(r => r.Scenario == BenchOptions.Stream).ToList();
        if (streams.Count > 0)
        {
            var table = new TextTable("stream", "messages", "seconds", "msgs/s", "errors");
            foreach (var r in streams)
            {
                table.Add(r.Server, Int(r.Count) + (r.Capped ? " (cap)" : string.Empty), F2(r.Seconds), Int(r.PerSecond), Int(r.Errors));
            }

            text.Append("Server streaming (one Expand stream, messages received by the client)\n").Append(table).Append('\n');
        }

        if (results.Count > 0)
        {
            var table = new TextTable(
                "CPU", "scenario", "warm-up s", "wall s", "client CPU s", "cores", "server CPU s", "cores", "other cores", "CPU/op us", "client B/op", "client GCs 0/1/2", "JIT ms c/s");
            foreach (var r in results)
            {
                var cpu = r.Cpu;
                table.Add(
                    r.Server,
                    r.Scenario == BenchOptions.Unary ? $"unary x{r.Concurrency}" : "stream",
                    r.Warmup.Duration.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + (r.Warmup.Settled ? string.Empty : " (JIT busy)"),
                    F2(r.Seconds),
                    Cpu(cpu.Client),
                    F2(cpu.Client.Total.TotalSeconds / r.Seconds),
                    cpu.Server is { } server ? Cpu(server) : "(in client)",
                    cpu.Server is { } s ? F2(s.Total.TotalSeconds / r.Seconds) : "-",
                    cpu.OtherProcesses is { } other ? F2(other.TotalSeconds / r.Seconds) : "n/a",
                    r.CpuMicrosPerItem.ToString(r.Scenario == BenchOptions.Stream ? "0.00" : "0.0", CultureInfo.InvariantCulture),
                    // The runtime's allocation total can go backwards across background GCs under server GC.
                    r.Count > 0 && cpu.ClientAllocatedBytes >= 0 ? Int((double)cpu.ClientAllocatedBytes / r.Count) : "n/a",
                    string.Join('/', cpu.ClientCollections),
                    Int(cpu.ClientJitTime.TotalMilliseconds) + "/" + (cpu.ServerJitTime is { } serverJit ? Int(serverJit.TotalMilliseconds) : "-"));
            }

            text.Append("CPU in the measured windows (u = user, s = system)\n").Append(table).Append('\n');
        }

        foreach (var r in results.Where(r => r.FirstError is not null))
        {
            text.Append(CultureInfo.InvariantCulture, $"error      {r.Server} {r.Scenario} x{r.Concurrency}: {r.Errors} failed, first: {r.FirstError}\n");
        }

        AppendTargets(text, info, results);
        return text.ToString();
    }

    private static void AppendTargets(StringBuilder text, RunInfo info, IReadOnlyList<ScenarioResult> results)
    {
        text.Append(CultureInfo.InvariantCulture, $"Targets ({info.Cores}-core machine, Fleet servers only)\n");
        foreach (var r in results.Where(r => r.Server != BenchOptions.Python))
        {
            if (r.Scenario == BenchOptions.Unary && r.Concurrency == UnaryTargetCallers)
            {
                text.Append(CultureInfo.InvariantCulture, $"  {r.Server,-12} unary x{UnaryTargetCallers}: {Int(r.PerSecond)} calls/s vs >= {Int(UnaryTarget)}: {(r.PerSecond >= UnaryTarget && r.Errors == 0 ? "MET" : "NOT MET")}\n");
            }
            else if (r.Scenario == BenchOptions.Stream)
            {
                text.Append(CultureInfo.InvariantCulture, $"  {r.Server,-12} stream: {Int(r.PerSecond)} msgs/s vs >= {Int(StreamTarget)}: {(r.PerSecond >= StreamTarget && r.Errors == 0 ? "MET" : "NOT MET")}\n");
            }
        }
    }

    private static string Cpu(CpuTime cpu) =>
        string.Create(CultureInfo.InvariantCulture, $"{cpu.Total.TotalSeconds:0.00} ({cpu.User.TotalSeconds:0.00}u+{cpu.System.TotalSeconds:0.00}s)");

    private static string F2(double value) => value.ToString("0.00", CultureInfo.InvariantCulture);

    private static string Int(double value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static string F1(double value) => value.ToString("0.0", CultureInfo.InvariantCulture);
}
