using System.Diagnostics;
using Fleet.Bench.Rpc.Measurement;
using Fleet.Bench.Rpc.Servers;
using Fleet.Hosting.Grpc;
using Fleet.Testing.Echo;
using Grpc.Core;

namespace Fleet.Bench.Rpc.Scenarios;

/// <summary>
/// N callers each making Echo calls back to back (closed loop) over shared channels: warm-up, then a
/// measured window that ends after the duration or at the call cap, whichever comes first.
/// </summary>
internal static class UnaryScenario
{
    /// <summary>A phase stops early once this many calls failed; the run reports them.</summary>
    private const int MaxErrors = 1000;

    public static async Task<ScenarioResult> RunAsync(IBenchServer server, int callers, BenchOptions options, LatencyRecorder recorder, CancellationToken cancellationToken)
    {
        var channels = Enumerable.Range(0, options.Channels).Select(_ => GrpcChannels.ForAddress(server.Address)).ToArray();
        try
        {
            var clients = channels.Select(c => new EchoService.EchoServiceClient(c)).ToArray();
            var request = new EchoRequest { Text = "x", ReplyPayloadSize = options.PayloadSize };

            var warmup = await Warmup.RunAsync(
                async duration =>
                {
                    recorder.Reset();
                    await RunPhaseAsync(clients, callers, request, options, duration, recorder, cancellationToken);
                },
                server,
                options);

            recorder.Reset();
            var cpu = await CpuWindow.StartAsync(server);
            var started = Stopwatch.GetTimestamp();
            var phase = await RunPhaseAsync(clients, callers, request, options, options.Duration, recorder, cancellationToken);
            var elapsed = Stopwatch.GetElapsedTime(started);
            var used = await cpu.StopAsync();

            var latency = recorder.Summarize();
            return new ScenarioResult
            {
                Server = server.Name,
                Scenario = BenchOptions.Unary,
                Concurrency = callers,
                Count = latency.Count,
                Seconds = elapsed.TotalSeconds,
                Warmup = warmup,
                Latency = latency,
                Cpu = used,
                Errors = phase.Errors,
                FirstError = phase.FirstError,
                Capped = recorder.Capped,
            };
        }
        finally
        {
            foreach (var channel in channels)
            {
                channel.Dispose();
            }
        }
    }

    private static async Task<Phase> RunPhaseAsync(
        EchoService.EchoServiceClient[] clients, int callers, EchoRequest request, BenchOptions options, TimeSpan duration, LatencyRecorder recorder, CancellationToken cancellationToken)
    {
        var phase = new Phase();
        if (duration <= TimeSpan.Zero)
        {
            return phase;
        }

        using var timer = new CancellationTokenSource(duration);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(timer.Token, cancellationToken);
        using var registration = stop.Token.UnsafeRegister(static s => ((Phase)s!).Stop = true, phase);
        var workers = new Task[callers];
        for (var i = 0; i < callers; i++)
        {
            workers[i] = CallLoopAsync(clients[i % clients.Length], request, options.Deadline, recorder, phase);
        }

        // A hung call fails the run (the channels are disposed on the way out) instead of hanging it.
        await Task.WhenAll(workers).WaitAsync(duration + Watchdog.Grace, CancellationToken.None);
        cancellationToken.ThrowIfCancellationRequested();
        return phase;
    }

    private static async Task CallLoopAsync(EchoService.EchoServiceClient client, EchoRequest request, TimeSpan? deadline, LatencyRecorder recorder, Phase phase)
    {
        await Task.Yield();
        while (!phase.Stop && recorder.TryReserve(out var slot))
        {
            var callOptions = deadline is { } d ? new CallOptions(deadline: DateTime.UtcNow + d) : default;
            var started = Stopwatch.GetTimestamp();
            try
            {
                using var call = client.EchoAsync(request, callOptions);
                var reply = await call;
                if (reply.Text != request.Text)
                {
                    throw new InvalidOperationException($"Reply text '{reply.Text}' differs from the request's.");
                }

                recorder.Record(slot, Stopwatch.GetTimestamp() - started);
            }
            catch (Exception ex) when (ex is RpcException or InvalidOperationException)
            {
                recorder.RecordFailure(slot);
                phase.Fail(ex);
            }
        }
    }

    private sealed class Phase
    {
        private long _errors;
        private string? _firstError;

        public volatile bool Stop;

        public long Errors => Interlocked.Read(ref _errors);

        public string? FirstError => Volatile.Read(ref _firstError);

        public void Fail(Exception exception)
        {
            Interlocked.CompareExchange(ref _firstError, $"{exception.GetType().Name}: {exception.Message}", null);
            if (Interlocked.Increment(ref _errors) >= MaxErrors)
            {
                Stop = true;
            }
        }
    }
}
