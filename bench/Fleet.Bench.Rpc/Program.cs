using Fleet.Bench.Rpc;
using Fleet.Bench.Rpc.Servers;

if (args is ["serve", ..])
{
    return await ServeCommand.RunAsync();
}

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

// First Ctrl-C: stop the current scenario and clean up (child servers are stopped); a second one exits at once.
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    if (!cancel.IsCancellationRequested)
    {
        e.Cancel = true;
        Console.Error.WriteLine("[bench] interrupted, stopping");
        cancel.Cancel();
    }
};

try
{
    return await BenchRunner.RunAsync(options, args, cancel.Token);
}
catch (OperationCanceledException) when (cancel.IsCancellationRequested)
{
    return 130;
}
