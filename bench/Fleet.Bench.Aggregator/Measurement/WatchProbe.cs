using Fleet.Bench.Aggregator.Simulation;
using Fleet.Protos.V1;
using Grpc.Core;

namespace Fleet.Bench.Aggregator.Measurement;

/// <summary>
/// A region-wide FleetService.Watch. With snapshots (the latency probe) it matches every node_updated
/// change to the report behind it: the simulated agent stamps snapshot.collected_at with the wall-clock
/// time it sent the report, and the change carries it back with the node's identity. Both ends run on
/// this machine's clock, so the difference is the report-to-visible latency. Node.last_report_at (when
/// the aggregator applied the report) and FleetChange.time (when it published the change) split it into
/// ingest, publish and delivery. Without snapshots (a dashboard) it only counts what it receives.
/// </summary>
internal sealed class WatchProbe(FleetService.FleetServiceClient client, bool includeSnapshots, LoadCounters window, IReadOnlyDictionary<string, int> nodeIndex)
{
    private readonly TaskCompletionSource<uint> _initialState = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private LatencyHistogram _second = new();
    private long _changes;
    private long _nodeUpdates;
    private long _windowMatched;
    private long _windowStale;
    private long _windowAlerts;
    private long _windowUnknownNodes;
    private long _reconnects;

    public bool IncludeSnapshots => includeSnapshots;

    /// <summary>Completes with the initial node count once InitialStateComplete arrives.</summary>
    public Task<uint> InitialState => _initialState.Task;

    /// <summary>send (collected_at) → seen by this watch: what an operator experiences.</summary>
    public LatencyHistogram Total { get; } = new();

    /// <summary>send → Node.last_report_at: generator write, network, Kestrel, parse, queueing before the aggregator applied it.</summary>
    public LatencyHistogram Ingest { get; } = new();

    /// <summary>last_report_at → FleetChange.time: applying the report and building the Node view.</summary>
    public LatencyHistogram Publish { get; } = new();

    /// <summary>FleetChange.time → seen: the watcher's queue, serialization, the wire, and parsing here.</summary>
    public LatencyHistogram Delivery { get; } = new();

    public long Changes => Interlocked.Read(ref _changes);

    public long NodeUpdates => Interlocked.Read(ref _nodeUpdates);

    /// <summary>node_updated changes matched to a report sent inside the window.</summary>
    public long WindowMatched => Interlocked.Read(ref _windowMatched);

    public long WindowStale => Interlocked.Read(ref _windowStale);

    public long WindowAlerts => Interlocked.Read(ref _windowAlerts);

    public long WindowUnknownNodes => Interlocked.Read(ref _windowUnknownNodes);

    public long Reconnects => Interlocked.Read(ref _reconnects);

    /// <summary>Why the watch ended early (e.g. RESOURCE_EXHAUSTED when it fell behind), if it did.</summary>
    public List<string> Failures { get; } = [];

    /// <summary>Latency of the last second (for progress lines); replaced by a fresh histogram on each call.</summary>
    public LatencyHistogram TakeSecond() => Interlocked.Exchange(ref _second, new LatencyHistogram());

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await WatchOnceAsync(cancellationToken);
                lock (Failures)
                {
                    Failures.Add("watch ended by the server (OK)");
                }
            }
            catch (RpcException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (RpcException ex)
            {
                lock (Failures)
                {
                    Failures.Add($"{ex.StatusCode}: {ex.Status.Detail}");
                }
            }

            Interlocked.Increment(ref _reconnects);
            try
            {
                await Task.Delay(500, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task WatchOnceAsync(CancellationToken cancellationToken)
    {
        using var call = client.Watch(new WatchRequest { IncludeSnapshots = includeSnapshots }, new CallOptions(cancellationToken: cancellationToken));
        var stream = call.ResponseStream;
        while (await stream.MoveNext(cancellationToken))
        {
            var seen = DateTime.UtcNow.Ticks;
            var change = stream.Current;
            Interlocked.Increment(ref _changes);
            switch (change.ChangeCase)
            {
                case FleetChange.ChangeOneofCase.InitialStateComplete:
                    _initialState.TrySetResult(change.InitialStateComplete.NodeCount);
                    break;
                case FleetChange.ChangeOneofCase.NodeUpdated:
                    Interlocked.Increment(ref _nodeUpdates);
                    if (includeSnapshots)
                    {
                        Match(change, change.NodeUpdated, seen);
                    }

                    break;
                case FleetChange.ChangeOneofCase.NodeStale:
                    if (window.InWindow(seen))
                    {
                        Interlocked.Increment(ref _windowStale);
                    }

                    break;
                case FleetChange.ChangeOneofCase.AlertChanged:
                    if (window.InWindow(seen))
                    {
                        Interlocked.Increment(ref _windowAlerts);
                    }

                    break;
            }
        }
    }

    private void Match(FleetChange change, Node node, long seen)
    {
        if (node.Snapshot?.CollectedAt is not { } collectedAt)
        {
            return;
        }

        var sent = collectedAt.ToDateTime().Ticks;
        if (!window.InWindow(sent))
        {
            return;
        }

        if (!nodeIndex.ContainsKey(node.Identity?.Name ?? string.Empty))
        {
            Interlocked.Increment(ref _windowUnknownNodes);
            return;
        }

        Interlocked.Increment(ref _windowMatched);
        Total.RecordTicks(seen - sent);
        _second.RecordTicks(seen - sent);
        if (node.LastReportAt is { } applied && change.Time is { } published)
        {
            var appliedTicks = applied.ToDateTime().Ticks;
            var publishedTicks = published.ToDateTime().Ticks;
            Ingest.RecordTicks(appliedTicks - sent);
            Publish.RecordTicks(publishedTicks - appliedTicks);
            Delivery.RecordTicks(seen - publishedTicks);
        }
    }
}
