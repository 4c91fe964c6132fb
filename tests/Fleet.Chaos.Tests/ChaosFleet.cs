using System.Net;
using System.Net.Sockets;
using Fleet.LocalFleet;
using Fleet.Protos.V1;
using Fleet.Rpc;
using Fleet.Rpc.Client;

namespace Fleet.Chaos.Tests;

/// <summary>A local fleet on free ports for one chaos scenario, with a FleetService client.</summary>
internal sealed class ChaosFleet : IAsyncDisposable
{
    private ChaosFleet(LocalFleet.LocalFleet fleet)
    {
        Fleet = fleet;
        Channel = GrpcChannel.ForAddress(fleet.AggregatorGrpc);
    }

    public LocalFleet.LocalFleet Fleet { get; }

    public GrpcChannel Channel { get; }

    public static async Task<ChaosFleet> StartAsync(bool synchronous, Action<string> log)
    {
        var ports = ConsecutiveFreePorts(2 + (2 * 3));
        var options = new LocalFleetOptions
        {
            Cluster = "chaos",
            Replicas = 2,
            Synchronous = synchronous,
            AggregatorGrpcPort = ports,
            AggregatorHttpPort = ports + 1,
            AgentGrpcBasePort = ports + 2,
            AgentHttpBasePort = ports + 5,
        };
        var fleet = await LocalFleet.LocalFleet.StartAsync(options, log, CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(2));
        return new ChaosFleet(fleet);
    }

    public async Task<Cluster> GetClusterAsync()
    {
        var method = Method<GetClusterRequest, Cluster>.FromDescriptor(FleetReflection.Descriptor.Services[0].GetMethod("GetCluster"));
        return await Channel.UnaryCall(method, new GetClusterRequest { Cluster = "chaos" }, new CallOptions().WithTimeout(TimeSpan.FromSeconds(10))).ResponseAsync;
    }

    public async Task<RoleChangeResponse> SwitchoverAsync(string candidate, string operatorName, string reason)
    {
        var method = Method<SwitchoverRequest, RoleChangeResponse>.FromDescriptor(FleetReflection.Descriptor.Services[0].GetMethod("Switchover"));
        var request = new SwitchoverRequest { Cluster = "chaos", Candidate = candidate, Operator = new OperatorContext { Operator = operatorName, Reason = reason } };
        return await Channel.UnaryCall(method, request, new CallOptions().WithTimeout(TimeSpan.FromSeconds(60))).ResponseAsync;
    }

    /// <summary>The cluster, or null while the aggregator has not heard of it yet (NOT_FOUND).</summary>
    public async Task<Cluster?> TryGetClusterAsync()
    {
        try
        {
            return await GetClusterAsync();
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
        {
            return null;
        }
    }

    public async Task<IReadOnlyList<Event>> EventsAsync()
    {
        var method = Method<ListEventsRequest, ListEventsResponse>.FromDescriptor(FleetReflection.Descriptor.Services[0].GetMethod("ListEvents"));
        var response = await Channel.UnaryCall(method, new ListEventsRequest { Cluster = "chaos", Limit = 200 }, new CallOptions().WithTimeout(TimeSpan.FromSeconds(10))).ResponseAsync;
        return response.Events;
    }

    /// <summary>Waits until every node reports and node0 is the primary with two streaming replicas.</summary>
    public async Task WaitUntilSteadyAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var cluster = await TryGetClusterAsync();
            if (cluster is not null && cluster.Summary.Primary == "node0" && cluster.Summary.StreamingReplicaCount == 2 && cluster.Nodes.All(n => n.Presence == AgentPresence.Connected))
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException("the fleet did not reach primary node0 with two streaming replicas");
    }

    /// <summary>Polls the cluster view until <paramref name="condition"/> holds (the view follows reports, so it lags by up to a report interval).</summary>
    public async Task<Cluster> WaitUntilAsync(Func<Cluster, bool> condition, string what, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        Cluster? cluster;
        do
        {
            cluster = await TryGetClusterAsync();
            if (cluster is not null && condition(cluster))
            {
                return cluster;
            }

            await Task.Delay(100);
        }
        while (DateTime.UtcNow < deadline);


        throw new TimeoutException($"not within {timeout.TotalSeconds:F0} s: {what}; cluster: {cluster}");
    }

    public Task<Cluster> WaitForPrimaryAsync(string node, TimeSpan timeout) =>
        WaitUntilAsync(c => c.Summary.Primary == node, $"{node} is the published primary", timeout);

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await Fleet.DisposeAsync();
    }

    private static int ConsecutiveFreePorts(int count)
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var start = Random.Shared.Next(20_000, 60_000);
            if (Enumerable.Range(start, count).All(IsFree))
            {
                return start;
            }
        }

        throw new InvalidOperationException($"no {count} consecutive free ports found");
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
