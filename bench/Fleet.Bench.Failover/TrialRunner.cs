using Fleet.Chaos;
using Fleet.Protos.V1;
using Fleet.Testing.Etcd;

namespace Fleet.Bench.Failover;

/// <summary>One trial's figures. Times are on the writer's clock; null when the trial failed before it got there.</summary>
internal sealed record TrialResult
{
    public required string Scenario { get; init; }

    public required int Trial { get; init; }

    /// <summary>How long after steady writes began the fault (or request) came.</summary>
    public required int FaultDelayMs { get; init; }

    public string? Error { get; init; }

    /// <summary>The node that acknowledged the first write after the fault.</summary>
    public string? WritableOn { get; init; }

    public double? WritableAfterSeconds { get; init; }

    public int Acknowledged { get; init; }

    /// <summary>Acknowledged rows missing on the node that accepted the last write.</summary>
    public int? Lost { get; init; }

    /// <summary>The first split-brain violation found in the writer's record, or null.</summary>
    public string? SplitBrain { get; init; }

    /// <summary>Switchover: the decision's own duration as the aggregator reports it.</summary>
    public double? DecisionSeconds { get; init; }

    /// <summary>The primary the aggregator publishes at the end (it should be <see cref="WritableOn"/>), and its epoch.</summary>
    public string? PublishedPrimary { get; init; }

    public ulong? Epoch { get; init; }

    public bool Ok => Error is null;
}

/// <summary>Runs one trial on a fresh fleet: steady writes, the fault at a given moment, then the figures.</summary>
internal static class TrialRunner
{
    private static readonly TimeSpan RecoveryTimeout = TimeSpan.FromSeconds(30);
    private const string SwitchoverCandidate = "node1";

    public static async Task<TrialResult> RunAsync(ScenarioInfo scenario, int trial, TimeSpan delay, BenchOptions options, Action<string> log, Action<string>? binDirectory = null)
    {
        if (scenario.InNamespaces)
        {
            return await RunInNamespacesAsync(scenario, trial, delay, options, log);
        }

        var result = new TrialResult { Scenario = scenario.Key, Trial = trial, FaultDelayMs = (int)delay.TotalMilliseconds };
        var fleetLog = options.Verbose ? log : static _ => { };
        WritingScenario? run = null;
        EtcdCluster? etcd = null;
        SeparateAggregator? leader = null;
        try
        {
            var partition = scenario == ScenarioInfo.Partition;
            var withLeader = scenario == ScenarioInfo.NodeAndLeader;
            var prefix = "/fleet-bench-" + Guid.NewGuid().ToString("N")[..8];
            if (withLeader)
            {
                // The leader is its own process, started first so that it is elected; the fleet's aggregator follows.
                etcd = await EtcdCluster.StartAsync(3);
                leader = await SeparateAggregator.StartLeaderAsync("agg-k", "local", prefix, etcd, fast: false);
            }

            run = await WritingScenario.StartAsync(
                new ChaosFleetOptions
                {
                    Synchronous = options.Synchronous,
                    LogLevel = options.Verbose ? "Warning" : "None",
                    ProxiedAgent = partition ? 0 : null,
                    ProxiedPostgres = partition ? 0 : null,
                    AggregatorSettings = withLeader ? SeparateAggregator.Coordination("agg-1", prefix, etcd!, fast: false) : new Dictionary<string, string?>(),
                    AgentSettings = withLeader ? new Dictionary<string, string?> { ["Aggregator:Endpoints:1"] = leader!.Grpc.ToString() } : new Dictionary<string, string?>(),
                },
                fleetLog);
            var (chaos, writer, postgres) = (run.Chaos, run.Writer, run.Chaos.Fleet.Postgres);
            binDirectory?.Invoke(postgres.BinDirectory);
            if (partition)
            {
                await chaos.WaitUntilReplicasStreamThroughPostgresProxyAsync(TimeSpan.FromSeconds(30));
            }

            if (leader is not null)
            {
                await leader.WaitUntilLeadingAsync(chaos.Fleet.AggregatorHttp, ChaosFleet.ClusterName, 3, TimeSpan.FromSeconds(30));
            }

            // Steady writes: node0 has acknowledged 20 rows. The fault comes a random moment later.
            await writer.WaitForAcknowledgementsAsync("node0", 20);
            await Task.Delay(delay);
            var at = writer.Now;
            // Only a connection opened once the postmaster is gone counts: one opened a moment earlier can still
            // commit through its orphaned backend, which says nothing about being writable again.
            TimeSpan newConnectionsFrom;
            Task<RoleChangeResponse>? switchover = null;
            if (scenario == ScenarioInfo.Kill)
            {
                postgres.Primary.KillPostmaster();
                newConnectionsFrom = writer.Now;
            }
            else if (scenario == ScenarioInfo.Node)
            {
                var stopAgent = chaos.Fleet.Agents[0].StopAsync();
                postgres.Primary.KillPostmaster();
                newConnectionsFrom = writer.Now;
                await stopAgent.WaitAsync(TimeSpan.FromSeconds(15));
            }
            else if (scenario == ScenarioInfo.NodeAndLeader)
            {
                var stopAgent = chaos.Fleet.Agents[0].StopAsync();
                postgres.Primary.KillPostmaster();
                var killLeader = leader!.KillAsync();
                newConnectionsFrom = writer.Now;
                await Task.WhenAll(stopAgent, killLeader).WaitAsync(TimeSpan.FromSeconds(15));
            }
            else if (scenario == ScenarioInfo.Freeze)
            {
                // A frozen server commits nothing, so any write acknowledged from here on is on a live node.
                postgres.Primary.Freeze();
                newConnectionsFrom = at;
            }
            else if (partition)
            {
                chaos.Proxy!.Partition();
                chaos.PostgresProxy!.Partition();
                newConnectionsFrom = at;
            }
            else
            {
                switchover = chaos.SwitchoverAsync(SwitchoverCandidate, "fleet-bench", "failover benchmark");
                newConnectionsFrom = at;
            }

            var first = await writer.WaitForWriteStartedAfterAsync(newConnectionsFrom, RecoveryTimeout, scenario == ScenarioInfo.Switchover ? SwitchoverCandidate : null);
            result = result with { WritableOn = first.Node, WritableAfterSeconds = (first.At - at).TotalSeconds };
            if (switchover is not null)
            {
                var decision = (await switchover).Decision;
                result = result with { DecisionSeconds = decision.DurationMs / 1000.0 };
                if (decision.Outcome != DecisionOutcome.Completed)
                {
                    return result with { Error = $"switchover {decision.Outcome}: {string.Join("; ", decision.Reasons)}" };
                }
            }

            // Keep writing a little on the new primary, so a late acknowledgement elsewhere would show.
            await writer.WaitForAcknowledgementsAsync(first.Node, writer.Acknowledgements.Count(a => a.Node == first.Node) + 20);
            await writer.StopAsync();
            var acknowledged = writer.Acknowledgements;
            var last = acknowledged[^1].Node;
            var missing = await WriteHistory.MissingOnAsync(postgres.Nodes.Single(n => n.Name == last).ConnectionString, acknowledged);
            result = result with { Acknowledged = acknowledged.Count, Lost = missing.Count, SplitBrain = WriteHistory.FindSplitBrain(acknowledged) };
            try
            {
                var cluster = await chaos.WaitUntilAsync(c => c.Summary.Primary == last, $"{last} published as primary", TimeSpan.FromSeconds(10));
                result = result with { PublishedPrimary = cluster.Summary.Primary, Epoch = cluster.Summary.Epoch };
            }
            catch (TimeoutException)
            {
                var cluster = await chaos.TryGetClusterAsync();
                result = result with { PublishedPrimary = cluster?.Summary.Primary, Epoch = cluster?.Summary.Epoch };
            }

            return result;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A trial that fails is reported as failed; the next one starts on a fresh fleet.
            return result with { Error = $"{ex.GetType().Name}: {ex.Message}" };
        }
        finally
        {
            if (run is not null)
            {
                await run.DisposeAsync();
            }

            if (leader is not null)
            {
                await leader.DisposeAsync();
            }

            if (etcd is not null)
            {
                await etcd.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// A trial on the network-namespace harness: every node on its own address, agents as processes. The writer
    /// uses a new connection per write and moves on after 1 s without an answer, as a client with a timeout does.
    /// </summary>
    private static async Task<TrialResult> RunInNamespacesAsync(ScenarioInfo scenario, int trial, TimeSpan delay, BenchOptions options, Action<string> log)
    {
        var result = new TrialResult { Scenario = scenario.Key, Trial = trial, FaultDelayMs = (int)delay.TotalMilliseconds };
        Fleet.Chaos.Netns.NamespaceFleet? fleet = null;
        AcknowledgedWriter? writer = null;
        try
        {
            fleet = await Fleet.Chaos.Netns.NamespaceFleet.StartAsync(options.Synchronous, options.Verbose ? log : static _ => { }, options.Verbose ? "Warning" : "None");
            await AcknowledgedWriter.CreateTableAsync(fleet.ConnectionString(0));
            writer = new AcknowledgedWriter(fleet.Postgres.Nodes.Select((n, i) => (n.Name, fleet.ConnectionString(i))));
            writer.Start();
            await writer.WaitForAcknowledgementsAsync("node0", 20);
            await Task.Delay(delay);
            var at = writer.Now;
            if (scenario == ScenarioInfo.FreezeNode)
            {
                fleet.SignalAgent(0, "STOP");
                fleet.Postgres.Primary.Freeze();
            }
            else if (scenario == ScenarioInfo.OneWay)
            {
                fleet.Lab.DropIncoming(0);
            }
            else if (scenario == ScenarioInfo.PowerLoss)
            {
                // Packets first, so the kills cannot send a FIN or RST to anyone.
                fleet.Lab.Isolate(0);
                fleet.SignalAgent(0, "KILL");
                fleet.Postgres.Primary.KillPostmaster();
            }
            else
            {
                fleet.Lab.Isolate(0);
            }

            // Applying a fault spawns ip/iptables/kill (tens of ms): a write node0 finished meanwhile is not "after".
            var applied = writer.Now;
            var first = await writer.WaitForWriteStartedAfterAsync(applied, RecoveryTimeout);
            result = result with { WritableOn = first.Node, WritableAfterSeconds = (first.At - at).TotalSeconds };
            await writer.WaitForAcknowledgementsAsync(first.Node, writer.Acknowledgements.Count(a => a.Node == first.Node) + 20);
            await writer.StopAsync();
            var acknowledged = writer.Acknowledgements;
            var last = acknowledged[^1].Node;
            var missing = await WriteHistory.MissingOnAsync(fleet.ConnectionString(int.Parse(last[4..], System.Globalization.CultureInfo.InvariantCulture)), acknowledged);
            var cluster = await fleet.WaitUntilAsync(c => c.Summary.Primary == last, $"{last} published as primary", TimeSpan.FromSeconds(10));
            return result with
            {
                Acknowledged = acknowledged.Count,
                Lost = missing.Count,
                SplitBrain = WriteHistory.FindSplitBrain(acknowledged),
                PublishedPrimary = cluster.Summary.Primary,
                Epoch = cluster.Summary.Epoch,
            };
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return result with { Error = $"{ex.GetType().Name}: {ex.Message}" };
        }
        finally
        {
            if (writer is not null)
            {
                await writer.DisposeAsync();
            }

            if (fleet is not null)
            {
                fleet.Postgres.Primary.Thaw();
                await fleet.DisposeAsync();
            }
        }
    }
}
