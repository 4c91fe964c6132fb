using System.Runtime.InteropServices;
using Fleet.Bench.Agent;
using Fleet.Bench.Agent.Processes;

if (args is ["--help" or "-h", ..])
{
    Console.Out.Write(BenchOptions.Usage);
    return 0;
}

var options = BenchOptions.Parse(args, out var errors);
if (errors.Count > 0)
{
    foreach (var error in errors)
    {
        Console.Error.WriteLine($"error: {error}");
    }

    Console.Error.Write(BenchOptions.Usage);
    return 2;
}

// Ctrl-C or SIGTERM: stop the run; the finally blocks stop the children and PostgreSQL. A second Ctrl-C
// exits at once, still killing the children first.
using var cancel = new CancellationTokenSource();
void Interrupt(PosixSignalContext context)
{
    if (cancel.IsCancellationRequested)
    {
        BenchChild.KillAll();
        return;
    }

    context.Cancel = true;
    Console.Error.WriteLine("[bench] interrupted, stopping and cleaning up");
    cancel.Cancel();
}

using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Interrupt);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Interrupt);
AppDomain.CurrentDomain.ProcessExit += (_, _) => BenchChild.KillAll();

try
{
    return await BenchRunner.RunAsync(options, cancel.Token);
}
catch (OperationCanceledException) when (cancel.IsCancellationRequested)
{
    return 130;
}
catch (Exception e)
{
    Console.Error.WriteLine($"[bench] failed: {e}");
    return 1;
}
finally
{
    BenchChild.KillAll();
}
