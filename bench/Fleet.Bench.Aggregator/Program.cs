using Fleet.Bench.Aggregator;

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

// First Ctrl-C: stop the load and the aggregator cleanly; a second one exits at once.
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

// Exit codes: 0 target met, 3 target missed, 2 bad arguments, 1 the run failed, 130 interrupted.
try
{
    return await BenchRunner.RunAsync(options, args, cancel.Token);
}
catch (OperationCanceledException) when (cancel.IsCancellationRequested)
{
    return 130;
}
