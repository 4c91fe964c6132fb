using System.Diagnostics;
using Fleet.Protos.V1;
using Grpc.Core;

namespace Fleet.Bench.Aggregator.Simulation;

/// <summary>
/// One simulated fleet-agent: a real AgentLink.Connect stream over Grpc.Net.Client. Sends its hello, waits for
/// the Welcome, then reports on a fixed schedule (every interval from its first report, so agents stay
/// spread evenly over the interval) and drains whatever the aggregator sends down. A broken stream is
/// counted and reconnected after a second, as the real agent does with its backoff.
/// </summary>
internal sealed class SimulatedAgent(NodeModel node, TimeSpan interval, LoadCounters counters)
{
    private static readonly TimeSpan WelcomeTimeout = TimeSpan.FromSeconds(60);

    private readonly SnapshotModel _model = new(node, interval);
    private readonly string _instanceId = Guid.NewGuid().ToString("N");
    private ulong _sequence;

    public NodeModel Node => node;

    /// <summary>Average serialized size of this agent's reports so far (bytes).</summary>
    public int LastReportBytes { get; private set; }

    public async Task RunAsync(AgentLink.AgentLinkClient client, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await RunStreamAsync(client, cancellationToken);
                counters.Failed("stream ended by the aggregator (OK)");
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (RpcException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (RpcException ex)
            {
                counters.Failed($"{ex.StatusCode}: {Shorten(ex.Status.Detail)}");
            }
            catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or IOException)
            {
                counters.Failed($"{ex.GetType().Name}: {Shorten(ex.Message)}");
            }

            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(1000 + Random.Shared.Next(0, 500)), cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task RunStreamAsync(AgentLink.AgentLinkClient client, CancellationToken cancellationToken)
    {
        using var streamCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var call = client.Connect(new CallOptions(cancellationToken: streamCts.Token));
        await call.RequestStream.WriteAsync(new AgentMessage { Hello = _model.Hello(_instanceId) }, streamCts.Token);
        using (var welcomeCts = CancellationTokenSource.CreateLinkedTokenSource(streamCts.Token))
        {
            welcomeCts.CancelAfter(WelcomeTimeout);
            bool answered;
            try
            {
                answered = await call.ResponseStream.MoveNext(welcomeCts.Token);
            }
            catch (RpcException) when (welcomeCts.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"no Welcome within {WelcomeTimeout.TotalSeconds:F0} s");
            }

            if (!answered || call.ResponseStream.Current.Welcome is not { } welcome)
            {
                throw new InvalidOperationException("the aggregator did not answer the hello with a Welcome");
            }

            if (!welcome.Accepted)
            {
                throw new InvalidOperationException($"refused: {welcome.Reason}");
            }
        }

        counters.Welcome();
        try
        {
            var commands = DrainCommandsAsync(call, streamCts.Token);
            var reports = ReportLoopAsync(call.RequestStream, streamCts.Token);
            var first = await Task.WhenAny(commands, reports);
            await streamCts.CancelAsync();
            try
            {
                await Task.WhenAll(commands, reports);
            }
            catch (Exception) when (!first.IsFaulted || cancellationToken.IsCancellationRequested)
            {
            }

            await first;
        }
        finally
        {
            counters.Disconnected();
        }
    }

    private static async Task DrainCommandsAsync(AsyncDuplexStreamingCall<AgentMessage, AggregatorCommand> call, CancellationToken cancellationToken)
    {
        while (await call.ResponseStream.MoveNext(cancellationToken))
        {
            // Lease grants and commands: a simulated agent does not act on them.
        }
    }

    private async Task ReportLoopAsync(IClientStreamWriter<AgentMessage> requests, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var intervalTicks = interval.Ticks;
        long slot = 0;
        var message = new AgentMessage { Report = new AgentReport() };
        while (!cancellationToken.IsCancellationRequested)
        {
            var due = TimeSpan.FromTicks(slot * intervalTicks);
            var wait = due - clock.Elapsed;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, cancellationToken);
            }

            var lateBy = clock.Elapsed - due;
            if (lateBy.Ticks > intervalTicks)
            {
                // More than one interval behind: skip the missed slots, like a collection loop would.
                var missed = lateBy.Ticks / intervalTicks;
                counters.Skipped(missed);
                slot += missed;
                lateBy -= TimeSpan.FromTicks(missed * intervalTicks);
            }

            var sentAt = DateTime.UtcNow;
            var report = message.Report;
            report.Sequence = ++_sequence;
            report.Snapshot = _model.Next(sentAt);
            var size = message.CalculateSize();
            LastReportBytes = size;
            var write = Stopwatch.GetTimestamp();
            await requests.WriteAsync(message, cancellationToken);
            counters.Sent(sentAt.Ticks, size, lateBy, Stopwatch.GetElapsedTime(write));
            slot++;
        }
    }

    private static string Shorten(string text) => text.Length > 160 ? text[..160] + "…" : text;
}
