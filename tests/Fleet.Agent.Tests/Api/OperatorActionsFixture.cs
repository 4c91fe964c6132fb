using System.Globalization;
using System.Text.Json;
using Fleet.Agent.Tests.Host;
using Fleet.LocalFleet.Postgres;
using Fleet.Protos.V1;
using Grpc.Core;
using Grpc.Net.Client;
using Google.Protobuf;
using Npgsql;

namespace Fleet.Agent.Tests.Api;

/// <summary>
/// One primary ("node0") and two streaming replicas, each with its own standalone agent (cleartext gRPC:
/// development mode), and an operator failover run through AgentService in steps, each run once and in
/// order whichever test asks first: fence node0 read-only (epoch 1); then, node0 gone, promote node1
/// (epoch 2); then point node2 at node1 (epoch 2). Tests assert on the results and on the cluster.
/// </summary>
public sealed class OperatorActionsFixture : IAsyncLifetime
{
    public static readonly TimeSpan ClusterStartTimeout = TimeSpan.FromSeconds(120);

    public static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(45);

    /// <summary>Deadline of one action call: promotion and streaming confirmations on a busy 2-core machine.</summary>
    public static readonly TimeSpan ActionTimeout = TimeSpan.FromSeconds(60);

    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(500);

    private readonly Lazy<Task<FenceStep>> _fence;
    private readonly Lazy<Task<PromoteStep>> _promote;
    private readonly Lazy<Task<ActionResponse>> _follow;
    private LocalPostgresCluster? _cluster;
    private readonly List<RunningAgent> _agents = [];

    public OperatorActionsFixture()
    {
        _fence = new(RunFenceAsync);
        _promote = new(RunPromoteAsync);
        _follow = new(RunFollowAsync);
    }

    public IPostgresCluster Cluster => _cluster ?? throw new InvalidOperationException("The cluster is not started.");

    /// <summary>The agents of node0, node1, node2.</summary>
    internal IReadOnlyList<RunningAgent> Agents => _agents;

    /// <summary>What the Fence step observed right after fencing node0 (it is stopped by the next step).</summary>
    internal sealed record FenceStep(ActionResponse Response, string? WriteRefusal, string ReadOnlySetting, GetStatusResponse Status);

    internal sealed record PromoteStep(ActionResponse Response, uint TimelineBefore, ulong ReplayLsn);

    /// <summary>Fence (read-only) of node0 under epoch 1, by "alice".</summary>
    internal Task<FenceStep> FenceAsync() => _fence.Value;

    /// <summary>After the fence: node0 stopped, then Promote of node1 under epoch 2, waiting for the replay of node0's last WAL.</summary>
    internal Task<PromoteStep> PromoteAsync() => _promote.Value;

    /// <summary>After the promotion: Follow of node2 to node1 under epoch 2 (no slot).</summary>
    internal Task<ActionResponse> FollowAsync() => _follow.Value;

    public const string FenceReason = "operator-actions test: fence the primary";
    public const string PromoteReason = "operator-actions test: promote node1";
    public const string FollowReason = "operator-actions test: node2 follows node1";

    public async Task InitializeAsync()
    {
        _cluster = await LocalPostgresCluster
            .StartAsync(new PostgresClusterOptions { ReplicaCount = 2, ArchiveEnabled = false })
            .WaitAsync(ClusterStartTimeout);
        foreach (var node in _cluster.Nodes)
        {
            _agents.Add(await RunningAgent.StartAsync(Settings(node)));
        }

        await _agents[0].WaitForStatusAsync(s => s.Snapshot is { PostgresState: PostgresState.Up, Role: NodeRole.Primary }, ReadyTimeout, "node0's agent to see an up primary");
        foreach (var replica in _agents.Skip(1))
        {
            await replica.WaitForStatusAsync(
                s => s.Snapshot is { PostgresState: PostgresState.Up, Role: NodeRole.Replica, Replica.WalReceiver.Status: "streaming" },
                ReadyTimeout,
                "a replica's agent to see it streaming");
        }
    }

    /// <summary>Agent settings for <paramref name="node"/>: the state directory is left to its default (beside the data directory).</summary>
    internal Dictionary<string, string?> Settings(IPostgresNode node)
    {
        var settings = RunningAgent.SettingsFor(node, Interval);
        settings["Postgres:BinDirectory"] = Cluster.BinDirectory;
        return settings;
    }

    /// <summary>Where the agent of <paramref name="node"/> keeps its audit file by default (docs/agent.md: Node:StateDirectory).</summary>
    internal static string AuditFileOf(IPostgresNode node) =>
        Path.Combine(Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(node.DataDirectory))!, $"fleet-agent-{node.Name}", "audit.jsonl");

    /// <summary>Every line of an audit file, each parsed as one JSON object (a line that is not fails the test).</summary>
    internal static List<JsonElement> ReadAudit(string path)
    {
        if (!File.Exists(path))
        {
            return [];
        }

        return [.. File.ReadAllLines(path).Select(line =>
        {
            using var document = JsonDocument.Parse(line);
            Assert.Equal(JsonValueKind.Object, document.RootElement.ValueKind);
            return document.RootElement.Clone();
        })];
    }

    /// <summary>Calls an operator method with a deadline; a non-OK status throws <see cref="RpcException"/>.</summary>
    internal static Task<ActionResponse> CallAsync<TRequest>(GrpcChannel channel, string method, TRequest request)
        where TRequest : class, IMessage<TRequest>
    {
        return AgentClient.OperatorAction(channel, method, request, new CallOptions(deadline: DateTime.UtcNow + ActionTimeout)).ResponseAsync
            .WaitAsync(ActionTimeout + TimeSpan.FromSeconds(10));
    }

    internal static async Task<T> ScalarAsync<T>(IPostgresNode node, string sql)
    {
        await using var connection = await node.OpenConnectionAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>
    /// The timeline of a server: a primary's from its current WAL file name (exact right after a promotion),
    /// a replica's from its last restart point.
    /// </summary>
    internal static async Task<uint> TimelineAsync(IPostgresNode node) =>
        await ScalarAsync<bool>(node, "SELECT pg_is_in_recovery()")
            ? (uint)await ScalarAsync<int>(node, "SELECT timeline_id FROM pg_control_checkpoint()")
            : uint.Parse((await ScalarAsync<string>(node, "SELECT pg_walfile_name(pg_current_wal_lsn())"))[..8], NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    private async Task<FenceStep> RunFenceAsync()
    {
        var primary = Cluster.Nodes[0];
        var response = await CallAsync(_agents[0].Channel, "Fence", new FenceRequest
        {
            Epoch = 1,
            Mode = FenceMode.ReadOnly,
            Operator = new OperatorContext { Operator = "alice", Reason = FenceReason },
        });

        string? refusal = null;
        try
        {
            await ScalarAsync<object>(primary, "CREATE TABLE operator_fence_probe (id int)");
        }
        catch (PostgresException e)
        {
            refusal = e.SqlState;
        }

        var setting = await ScalarAsync<string>(primary, "SHOW default_transaction_read_only");
        return new FenceStep(response, refusal, setting, await _agents[0].GetStatusAsync());
    }

    private async Task<PromoteStep> RunPromoteAsync()
    {
        await FenceAsync();
        var replicas = Cluster.Nodes.Skip(1).ToList();
        var timelineBefore = await TimelineAsync(replicas[0]);
        // The old primary goes away (as a fence in stop mode would do) so that no WAL it writes after node1's
        // promotion point reaches node2 only: node2 must not be ahead of the new timeline's fork.
        await Cluster.Nodes[0].StopAsync(PostgresStopMode.Fast);
        var positions = await Eventually.ReturnsAsync(
            async () => await Task.WhenAll(replicas.Select(r => ScalarAsync<string>(r,
                "SELECT pg_last_wal_receive_lsn()::text || ' ' || pg_last_wal_replay_lsn()::text"))),
            p => p.Distinct().Count() == 1 && p[0].Split(' ') is [var received, var replayed] && received == replayed,
            ReadyTimeout,
            "both replicas to have received and replayed the same, last WAL of node0");
        var replayLsn = Fleet.Agent.Actions.PostgresActions.ParseLsn(positions[0].Split(' ')[1]);

        var response = await CallAsync(_agents[1].Channel, "Promote", new PromoteRequest
        {
            Epoch = 2,
            WaitForReplayLsn = replayLsn,
            Operator = new OperatorContext { Operator = "alice", Reason = PromoteReason },
        });
        return new PromoteStep(response, timelineBefore, replayLsn);
    }

    private async Task<ActionResponse> RunFollowAsync()
    {
        await PromoteAsync();
        var newPrimary = Cluster.Nodes[1];
        return await CallAsync(_agents[2].Channel, "Follow", new FollowRequest
        {
            Epoch = 2,
            Upstream = new Upstream { Node = newPrimary.Name, Host = newPrimary.Host, Port = (uint)newPrimary.Port },
            Operator = new OperatorContext { Operator = "alice", Reason = FollowReason },
        });
    }

    public async Task DisposeAsync()
    {
        foreach (var agent in _agents)
        {
            await agent.DisposeAsync();
        }

        if (_cluster is not null)
        {
            await _cluster.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(60));
        }
    }
}
