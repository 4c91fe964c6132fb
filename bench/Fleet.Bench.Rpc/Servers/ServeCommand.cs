using System.Globalization;
using System.Runtime;
using System.Runtime.InteropServices;

namespace Fleet.Bench.Rpc.Servers;

/// <summary>
/// `Fleet.Bench.Rpc serve`: the Fleet server child process. Same lifecycle as the python peer: prints
/// `LISTENING port` when ready, stops on SIGTERM/SIGINT or when stdin reaches EOF (the parent is done or
/// died). One addition: each `jit` line on stdin is answered with `JIT ticks`, the time this process has
/// spent compiling methods so far, so the parent can tell when the server is warm.
/// </summary>
internal static class ServeCommand
{
    public const string JitQuery = "jit";
    public const string JitReplyPrefix = "JIT ";

    public static async Task<int> RunAsync()
    {
        await using var server = await FleetEchoHost.StartAsync();
        var stop = new CancellationTokenSource();
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => Stop(c, stop));
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => Stop(c, stop));

        await Console.Out.WriteLineAsync($"LISTENING {server.Port}");
        await Console.Out.FlushAsync();
        _ = ServeStdinAsync(stop);
        try
        {
            await Task.Delay(Timeout.Infinite, stop.Token);
        }
        catch (OperationCanceledException)
        {
        }

        FleetEchoHost.ReportErrors(server, Console.Error);
        return 0;
    }

    private static void Stop(PosixSignalContext context, CancellationTokenSource stop)
    {
        context.Cancel = true;
        stop.Cancel();
    }

    private static async Task ServeStdinAsync(CancellationTokenSource stop)
    {
        try
        {
            using var stdin = new StreamReader(Console.OpenStandardInput());
            while (await stdin.ReadLineAsync() is { } line)
            {
                if (line.Trim() == JitQuery)
                {
                    await Console.Out.WriteLineAsync(JitReplyPrefix + JitInfo.GetCompilationTime().Ticks.ToString(CultureInfo.InvariantCulture));
                    await Console.Out.FlushAsync();
                }
            }
        }
        catch (IOException)
        {
        }

        stop.Cancel();
    }
}
