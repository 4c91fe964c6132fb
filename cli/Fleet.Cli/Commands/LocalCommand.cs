using System.CommandLine;
using Fleet.LocalFleet;

namespace Fleet.Cli.Commands;

/// <summary>
/// fleetctl local: runs the embedded default fleet on this machine until Ctrl-C, printing where to
/// look and what to paste.
/// </summary>
internal static class LocalCommand
{
    public static Command Create()
    {
        var replicas = new Option<int>("--replicas") { Description = "Streaming replicas besides the primary", DefaultValueFactory = _ => 2 };
        var synchronous = new Option<bool>("--synchronous") { Description = "Synchronous replication to the first replica (no acknowledged write lost on failover)" };
        var region = new Option<string>("--region") { Description = "Region of the aggregator and every node", DefaultValueFactory = _ => "local" };
        var cluster = new Option<string>("--cluster") { Description = "Cluster name", DefaultValueFactory = _ => "demo" };
        var grpcPort = new Option<int>("--aggregator-port") { Description = "Aggregator gRPC port", DefaultValueFactory = _ => 7300 };
        var httpPort = new Option<int>("--dashboard-port") { Description = "Aggregator HTTP port (dashboard, /api/v1, /metrics)", DefaultValueFactory = _ => 8080 };
        var agentPort = new Option<int>("--agent-port") { Description = "First agent's gRPC port (agent i uses port + i)", DefaultValueFactory = _ => 7400 };
        var agentHttpPort = new Option<int>("--agent-http-port") { Description = "First agent's HTTP port (agent i uses port + i)", DefaultValueFactory = _ => 8008 };
        var logLevel = new Option<string>("--log-level") { Description = "Log level of the agents and the aggregator", DefaultValueFactory = _ => "Warning" };
        var exitAfter = new Option<TimeSpan?>("--exit-after") { Description = "Stop by itself after this long (for scripts and CI), e.g. 00:00:30" };
        var command = new Command("local", "Run a local fleet: PostgreSQL primary + replicas with a WAL archive, one agent per node, one aggregator")
        {
            replicas, synchronous, region, cluster, grpcPort, httpPort, agentPort, agentHttpPort, logLevel, exitAfter,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var options = new LocalFleetOptions
            {
                Replicas = result.GetValue(replicas),
                Synchronous = result.GetValue(synchronous),
                Region = result.GetValue(region)!,
                Cluster = result.GetValue(cluster)!,
                AggregatorGrpcPort = result.GetValue(grpcPort),
                AggregatorHttpPort = result.GetValue(httpPort),
                AgentGrpcBasePort = result.GetValue(agentPort),
                AgentHttpBasePort = result.GetValue(agentHttpPort),
                LogLevel = result.GetValue(logLevel)!,
            };
            if (options.Replicas is < 0 or > 8)
            {
                await Console.Error.WriteLineAsync("fleetctl local: --replicas must be between 0 and 8");
                return 2;
            }

            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            if (result.GetValue(exitAfter) is { } after)
            {
                stop.CancelAfter(after);
            }

            LocalFleet.LocalFleet fleet;
            try
            {
                fleet = await LocalFleet.LocalFleet.StartAsync(options, line => Console.WriteLine("fleetctl: " + line), stop.Token);
            }
            catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or IOException)
            {
                await Console.Error.WriteLineAsync("fleetctl local: " + ex.Message);
                return 1;
            }

            await using (fleet)
            {
                PrintWelcome(fleet);
                try
                {
                    await Task.Delay(Timeout.Infinite, stop.Token);
                }
                catch (OperationCanceledException)
                {
                    Console.WriteLine("fleetctl: stopping the local fleet ...");
                }
            }

            Console.WriteLine("fleetctl: stopped; nothing left running");
            return 0;
        });
        return command;
    }

    private static void PrintWelcome(LocalFleet.LocalFleet fleet)
    {
        var o = fleet.Options;
        var grpc = $"127.0.0.1:{o.AggregatorGrpcPort}";
        var psql = string.Join("  ", fleet.Postgres.Nodes.Select(n => $"{n.Name}: psql -h 127.0.0.1 -p {n.Port} -U postgres"));
        Console.WriteLine($$"""

            Fleet is running: region '{{o.Region}}', cluster '{{o.Cluster}}', {{fleet.Postgres.Nodes.Count}} nodes.

              Dashboard     {{fleet.AggregatorHttp}}
              HTTP API      {{fleet.AggregatorHttp}}api/v1/clusters/{{o.Cluster}}
              Metrics       {{fleet.AggregatorHttp}}metrics   (agents: {{fleet.AgentHttp(0)}}metrics ...)
              Role checks   {{fleet.AgentHttp(0)}}primary   {{fleet.AgentHttp(1)}}replica

            grpcurl (server reflection, no .proto files needed):
              grpcurl -plaintext {{grpc}} list
              grpcurl -plaintext {{grpc}} describe fleet.v1.FleetService
              grpcurl -plaintext {{grpc}} fleet.v1.FleetService/ListClusters
              grpcurl -plaintext -d '{"cluster":"{{o.Cluster}}"}' {{grpc}} fleet.v1.FleetService/GetCluster
              grpcurl -plaintext {{grpc}} fleet.v1.FleetService/Watch
              grpcurl -plaintext 127.0.0.1:{{o.AgentGrpcBasePort}} fleet.v1.AgentService/GetStatus

            fleetctl:
              dotnet run --project cli/Fleet.Cli -- clusters
              dotnet run --project cli/Fleet.Cli -- cluster {{o.Cluster}}

            PostgreSQL (psql): {{psql}}

            Press Ctrl-C to stop everything.
            """);
    }
}
