using System.Diagnostics;
using Fleet.Bench.Rpc.Measurement;
using Fleet.Bench.Rpc.Servers;
using Fleet.Hosting.Grpc;
using Fleet.Testing.Echo;
using Grpc.Core;

namespace Fleet.Bench.Rpc.Scenarios;

/// <summary>
/// One Expand server stream of small messages, read as fast as the client can: a warm-up stream, then a
/// measured stream read until the duration has passed or the stream ends (count = the message cap).
/// Leaving the stream early disposes the call, which resets it (RST_STREAM CANCEL) on the server.
/// </summary>
internal static class StreamScenario
{
    public static async Task<ScenarioResult> RunAsync(IBenchServer server, BenchOptions options, CancellationToken cancellationToken)
    {
        using var channel = GrpcChannels.ForAddress(server.Address);
        var client = new EchoService.EchoServiceClient(channel);
        var request = new ExpandRequest { Count = options.MaxMessages, PayloadSize = options.PayloadSize, Text = "x" };

        var warmup = await Warmup.RunAsync(
            duration => ReadStreamAsync(client, request, duration, cancellationToken).WaitAsync(duration + Watchdog.Grace, CancellationToken.None),
            server,
            options);

        var cpu = await CpuWindow.StartAsync(server);
        var started = Stopwatch.GetTimestamp();
        var (count, error) = await ReadStreamAsync(client, request, options.Duration, cancellationToken).WaitAsync(options.Duration + Watchdog.Grace, CancellationToken.None);
        var elapsed = Stopwatch.GetElapsedTime(started);
        var used = await cpu.StopAsync();

        return new ScenarioResult
        {
            Server = server.Name,
            Scenario = BenchOptions.Stream,
            Concurrency = 1,
            Count = count,
            Seconds = elapsed.TotalSeconds,
            Warmup = warmup,
            Cpu = used,
            Errors = error is null ? 0 : 1,
            FirstError = error,
            Capped = count >= options.MaxMessages,
        };
    }

    /// <summary>Reads one stream for at most <paramref name="duration"/>; returns the messages received and the error that ended it, if any.</summary>
    private static async Task<(long Count, string? Error)> ReadStreamAsync(EchoService.EchoServiceClient client, ExpandRequest request, TimeSpan duration, CancellationToken cancellationToken)
    {
        var end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        long count = 0;
        using var call = client.Expand(request, new CallOptions(cancellationToken: cancellationToken));
        var responses = call.ResponseStream;
        try
        {
            // Bounded by the request's count (the message cap) and by the clock.
            while (await responses.MoveNext())
            {
                if (responses.Current.Index != count)
                {
                    return (count, $"message {count} has index {responses.Current.Index}");
                }

                count++;
                if (Stopwatch.GetTimestamp() >= end)
                {
                    break;
                }
            }
        }
        catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
        {
            return (count, $"{ex.GetType().Name}: {ex.Message}");
        }

        cancellationToken.ThrowIfCancellationRequested();
        return (count, null);
    }
}
