using Fleet.Protos.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace Fleet.Chaos;

/// <summary>What a chaos test asks the aggregator about one cluster: its view, its events, and waiting for a condition.</summary>
public sealed class ClusterProbe(GrpcChannel channel, string cluster)
{
    private static readonly TimeSpan CallDeadline = TimeSpan.FromSeconds(10);

    public async Task<Cluster> GetClusterAsync() =>
        await new FleetService.FleetServiceClient(channel).GetClusterAsync(
            new GetClusterRequest { Cluster = cluster }, new CallOptions(deadline: DateTime.UtcNow + CallDeadline)).ResponseAsync;

    /// <summary>The cluster, or null while the aggregator has not heard of it yet (NOT_FOUND) or is not reachable (restarting).</summary>
    public async Task<Cluster?> TryGetClusterAsync()
    {
        try
        {
            return await GetClusterAsync();
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.NotFound or StatusCode.Unavailable or StatusCode.DeadlineExceeded)
        {
            return null;
        }
    }

    public async Task<IReadOnlyList<Event>> EventsAsync() =>
        (await new FleetService.FleetServiceClient(channel).ListEventsAsync(
            new ListEventsRequest { Cluster = cluster, Limit = 200 }, new CallOptions(deadline: DateTime.UtcNow + CallDeadline)).ResponseAsync).Events;

    /// <summary>
    /// Polls the cluster's events every 100 ms until one matches <paramref name="match"/>; returns them. Events are
    /// written after what they record (a failover's completion event follows the repointing of the other replicas,
    /// which comes after the new primary is published), so a check right after a state change must wait for them.
    /// </summary>
    public async Task<IReadOnlyList<Event>> WaitForEventAsync(Func<Event, bool> match, string what, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(match);
        var deadline = DateTime.UtcNow + timeout;
        IReadOnlyList<Event> events;
        do
        {
            events = await EventsAsync();
            if (events.Any(match))
            {
                return events;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100));
        }
        while (DateTime.UtcNow < deadline);

        throw new TimeoutException($"not within {timeout.TotalSeconds:F0} s: {what}; newest events: {string.Join(" | ", events.Take(8).Select(e => e.Message))}");
    }

    /// <summary>
    /// Polls the cluster view every <paramref name="interval"/> (default 100 ms) until <paramref name="condition"/>
    /// holds (the view follows reports, so it lags by up to a report interval).
    /// </summary>
    public async Task<Cluster> WaitUntilAsync(Func<Cluster, bool> condition, string what, TimeSpan timeout, TimeSpan? interval = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var deadline = DateTime.UtcNow + timeout;
        Cluster? view;
        do
        {
            view = await TryGetClusterAsync();
            if (view is not null && condition(view))
            {
                return view;
            }

            await Task.Delay(interval ?? TimeSpan.FromMilliseconds(100));
        }
        while (DateTime.UtcNow < deadline);

        throw new TimeoutException($"not within {timeout.TotalSeconds:F0} s: {what}; cluster: {view}");
    }
}
