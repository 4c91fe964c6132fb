using System.CommandLine;
using Fleet.Protos.V1;
using Fleet.Hosting.Grpc;
using Grpc.Core;
using Grpc.Net.Client;

namespace Fleet.Cli.Commands;

/// <summary>Read-only commands against an aggregator's FleetService or an agent's AgentService.</summary>
internal static class QueryCommands
{
    public static readonly Option<string> Aggregator = new("--aggregator", "-a")
    {
        Description = "Aggregator gRPC address (env FLEET_AGGREGATOR_URL)",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("FLEET_AGGREGATOR_URL") ?? "http://127.0.0.1:7300",
        Recursive = true,
    };

    public static readonly Option<bool> Json = new("--json") { Description = "Print protobuf JSON (as grpcurl does) instead of a table", Recursive = true };

    public static readonly Option<TimeSpan> Timeout = new("--timeout")
    {
        Description = "Deadline of each call",
        DefaultValueFactory = _ => TimeSpan.FromSeconds(10),
        Recursive = true,
    };

    public static IEnumerable<Command> Create()
    {
        var clusters = new Command("clusters", "List the region's clusters");
        clusters.SetAction((result, ct) => Run(result, async client =>
        {
            var response = await client.ListClustersAsync(ct);
            if (!Print(result, response))
            {
                Output.WriteTable(Console.Out, ["CLUSTER", "PRIMARY", "HEALTH", "NODES", "STREAMING", "MAX LAG", "ALERTS", "EPOCH"],
                    response.Clusters.Select(c => (IReadOnlyList<string>)[c.Name, c.Primary.Length > 0 ? c.Primary : "-", Output.Word(c.Health),
                        $"{c.ConnectedNodeCount}/{c.NodeCount}", c.StreamingReplicaCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
                        Output.Bytes(c.HasMaxLagBytes ? c.MaxLagBytes : null), c.FiringAlertCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
                        c.Epoch.ToString(System.Globalization.CultureInfo.InvariantCulture)]));
            }
        }));

        var clusterName = new Argument<string>("cluster") { Description = "Cluster name" };
        var cluster = new Command("cluster", "Show one cluster: its nodes, roles, lag and topology") { clusterName };
        cluster.SetAction((result, ct) => Run(result, async client =>
        {
            var response = await client.GetClusterAsync(result.GetValue(clusterName)!, ct);
            if (!Print(result, response))
            {
                Output.WriteTable(Console.Out, ["NODE", "ROLE", "AGENT", "POSTGRES", "HEALTH", "UPSTREAM", "LAG", "LAG(S)", "TL"],
                    response.Nodes.Select(n => (IReadOnlyList<string>)[n.Identity.Name, Output.Word(n.Role), Output.Word(n.Presence), Output.Word(n.PostgresState),
                        Output.Word(n.Health), n.Upstream.Length > 0 ? n.Upstream : "-", Output.Bytes(n.HasLagBytes ? n.LagBytes : null),
                        Output.Seconds(n.HasLagSeconds ? n.LagSeconds : null), n.HasTimeline ? n.Timeline.ToString(System.Globalization.CultureInfo.InvariantCulture) : "-"]));
            }
        }));

        var nodeCluster = new Argument<string>("cluster") { Description = "Cluster name" };
        var nodeName = new Argument<string>("node") { Description = "Node name" };
        var node = new Command("node", "Show one node with its latest snapshot (JSON)") { nodeCluster, nodeName };
        node.SetAction((result, ct) => Run(result, async client =>
            Output.WriteJson(Console.Out, await client.GetNodeAsync(result.GetValue(nodeCluster)!, result.GetValue(nodeName)!, ct))));

        var alertCluster = new Option<string>("--cluster") { Description = "Only this cluster" };
        var alerts = new Command("alerts", "List pending and firing alerts") { alertCluster };
        alerts.SetAction((result, ct) => Run(result, async client =>
        {
            var response = await client.ListAlertsAsync(new ListAlertsRequest { Cluster = result.GetValue(alertCluster) ?? string.Empty }, ct);
            if (!Print(result, response))
            {
                Output.WriteTable(Console.Out, ["STATE", "SEVERITY", "RULE", "CLUSTER", "NODE", "MESSAGE"],
                    response.Alerts.Select(a => (IReadOnlyList<string>)[Output.Word(a.State), Output.Word(a.Severity), a.Rule, a.Cluster, a.Node, a.Message]));
            }
        }));

        var eventCluster = new Option<string>("--cluster") { Description = "Only this cluster" };
        var eventLimit = new Option<uint>("--limit") { Description = "How many (newest first)", DefaultValueFactory = _ => 20 };
        var events = new Command("events", "List recent events (newest first)") { eventCluster, eventLimit };
        events.SetAction((result, ct) => Run(result, async client =>
        {
            var response = await client.ListEventsAsync(new ListEventsRequest { Cluster = result.GetValue(eventCluster) ?? string.Empty, Limit = result.GetValue(eventLimit) }, ct);
            if (!Print(result, response))
            {
                Output.WriteTable(Console.Out, ["TIME", "KIND", "CLUSTER", "NODE", "MESSAGE"],
                    response.Events.Select(e => (IReadOnlyList<string>)[e.Time.ToDateTimeOffset().ToString("u", System.Globalization.CultureInfo.InvariantCulture),
                        Output.Word(e.Kind), e.Cluster, e.Node, e.Message]));
            }
        }));

        var watchCluster = new Option<string>("--cluster") { Description = "Only this cluster" };
        var watch = new Command("watch", "Stream fleet changes as JSON lines until Ctrl-C") { watchCluster };
        watch.SetAction((result, ct) => Run(result, async client =>
        {
            using var call = client.Watch(new WatchRequest { Cluster = result.GetValue(watchCluster) ?? string.Empty }, ct);
            var formatter = new Google.Protobuf.JsonFormatter(Google.Protobuf.JsonFormatter.Settings.Default);
            while (await call.ResponseStream.MoveNext(ct))
            {
                await Console.Out.WriteLineAsync(formatter.Format(call.ResponseStream.Current));
            }
        }));

        var agentAddress = new Option<string>("--agent") { Description = "Agent gRPC address", DefaultValueFactory = _ => "http://127.0.0.1:7400" };
        var agent = new Command("agent", "Ask one agent for its status (JSON)") { agentAddress };
        agent.SetAction((result, ct) => Run(result, async client => Output.WriteJson(Console.Out, await client.GetAgentStatusAsync(ct)), result.GetValue(agentAddress)));

        return [clusters, cluster, node, alerts, events, watch, agent];
    }

    private static bool Print(ParseResult result, Google.Protobuf.IMessage message)
    {
        if (!result.GetValue(Json))
        {
            return false;
        }

        Output.WriteJson(Console.Out, message);
        return true;
    }

    private static Task<int> Run(ParseResult result, Func<FleetClient, Task> action, string? address = null)
    {
        var timeout = result.GetValue(Timeout);
        return CallAsync(address ?? result.GetValue(Aggregator)!, async channel =>
        {
            await action(new FleetClient(channel, timeout));
            return 0;
        });
    }

    /// <summary>Runs calls on a channel to <paramref name="address"/>; an RPC error or a bad address becomes a message and an exit code.</summary>
    public static async Task<int> CallAsync(string address, Func<GrpcChannel, Task<int>> calls)
    {
        try
        {
            using var channel = GrpcChannels.ForAddress(address);
            return await calls(channel);
        }
        catch (RpcException ex)
        {
            await Console.Error.WriteLineAsync($"fleetctl: {address}: {ex.StatusCode}: {ex.Status.Detail}");
            return ex.StatusCode is StatusCode.NotFound or StatusCode.InvalidArgument ? 2 : 1;
        }
        catch (UriFormatException ex)
        {
            await Console.Error.WriteLineAsync($"fleetctl: bad address '{address}': {ex.Message}");
            return 2;
        }
    }
}
