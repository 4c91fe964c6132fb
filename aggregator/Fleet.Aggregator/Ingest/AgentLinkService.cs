using Fleet.Aggregator.Configuration;
using Fleet.Aggregator.State;
using Fleet.Protos.V1;
using Grpc.Core;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Options;

namespace Fleet.Aggregator.Ingest;

/// <summary>
/// fleet.v1.AgentLink.Connect: admits an agent (hello first, own region only, one live agent per node
/// identity), welcomes it, then applies its reports to the fleet state until the stream ends. Leader or
/// follower alike (Mode Etcd): agents link to every aggregator of their region. A bad
/// stream is closed with a precise status and never disturbs other agents.
/// </summary>
internal sealed class AgentLinkService(
    IOptions<AggregatorOptions> options,
    IOptions<Failover.FailoverOptions> failover,
    FleetState fleet,
    AgentSessions sessions,
    IngestCounters counters,
    IEnumerable<ILinkObserver> observerList,
    TimeProvider time,
    IEpochView epochs,
    Coordination.ILeadership leadership,
    Microsoft.Extensions.Hosting.IHostApplicationLifetime lifetime,
    ILogger<AgentLinkService> logger) : AgentLink.AgentLinkBase
{
    private const int MaxIdentityLength = 128;

    private readonly ILinkObserver[] _observers = [.. observerList];

    public override async Task Connect(IAsyncStreamReader<AgentMessage> requests, IServerStreamWriter<AggregatorCommand> responses, ServerCallContext context)
    {
        var config = options.Value;
        var hello = await ReadHelloAsync(requests, context, config.Link.HelloTimeout);
        if (hello is null)
        {
            return;
        }

        var admission = RegionAdmission.Decide(hello.Identity, context.GetHttpContext().Connection.ClientCertificate, config.Region);
        if (!admission.Admitted)
        {
            counters.RegionRefused();
            IngestLog.RefusedRegion(logger, context.Peer, admission.Reason);
            await NotifyRefusedAsync(hello.Identity, context.Peer, admission.Reason);
            throw new RpcException(new Status(StatusCode.PermissionDenied, admission.Reason));
        }

        var sessionId = fleet.NewSessionId();
        var registration = fleet.Register(hello, sessionId, context.Peer, time.GetUtcNow(), config.Link.StaleAfter);
        var key = registration.Record.Key;
        if (!registration.IsAccepted)
        {
            counters.DuplicateRefused();
            IngestLog.RefusedDuplicate(logger, key.Node, key.Cluster, context.Peer, registration.Record.Peer);
            var reason = $"node {key} is already connected from {registration.Record.Peer} (another agent process claims the same identity)";
            await NotifyRefusedAsync(hello.Identity, context.Peer, reason);
            throw new RpcException(new Status(StatusCode.AlreadyExists, reason));
        }

        counters.Admit();
        IngestLog.Admitted(logger, key.Node, key.Cluster, context.Peer, hello.AgentVersion);
        var session = new AgentSession(key, sessionId, responses, context.CancellationToken);
        sessions.Set(session);
        try
        {
            var welcome = Welcome(config);
            welcome.Epoch = epochs.Epoch(key.Cluster);
            await session.SendAsync(welcome, context.CancellationToken);
            await ReadMessagesAsync(requests, session, context);
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            // Agents reconnect to another (or the restarted) aggregator at once instead of waiting for a drain.
            throw new RpcException(new Status(StatusCode.Unavailable, "aggregator shutting down"));
        }
        catch (IOException ex)
        {
            // The connection broke under the stream (reset, keepalive timeout, a peer that vanished): a network
            // event, not a server error; nobody is left to answer. One warning instead of the host's error with a trace.
            IngestLog.LinkBroken(logger, key.Node, key.Cluster, ex.InnerException?.Message ?? ex.Message);
        }
        finally
        {
            sessions.Remove(session);
            if (fleet.Disconnect(key, sessionId) is not null)
            {
                IngestLog.Disconnected(logger, key.Node, key.Cluster);
            }
        }
    }

    private async Task<AgentHello?> ReadHelloAsync(IAsyncStreamReader<AgentMessage> requests, ServerCallContext context, TimeSpan timeout)
    {
        using var helloCts = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        helloCts.CancelAfter(timeout);
        try
        {
            if (!await requests.MoveNext(helloCts.Token))
            {
                return null;
            }
        }
        catch (OperationCanceledException) when (!context.CancellationToken.IsCancellationRequested)
        {
            throw Malformed(context, StatusCode.DeadlineExceeded, $"no hello within {timeout.TotalSeconds:F0} s");
        }

        var first = requests.Current;
        if (first.BodyCase != AgentMessage.BodyOneofCase.Hello)
        {
            throw Malformed(context, StatusCode.InvalidArgument, $"the first message must be a hello, not {first.BodyCase}");
        }

        var identity = first.Hello.Identity;
        if (identity is null || !ValidName(identity.Name) || !ValidName(identity.Cluster) || !ValidName(identity.Region) || identity.Zone.Length > MaxIdentityLength)
        {
            throw Malformed(context, StatusCode.InvalidArgument,
                $"hello identity must have name, cluster and region of 1..{MaxIdentityLength} characters from [A-Za-z0-9._-]");
        }

        return first.Hello;
    }

    private async Task ReadMessagesAsync(IAsyncStreamReader<AgentMessage> requests, AgentSession session, ServerCallContext context)
    {
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        while (await requests.MoveNext(stopping.Token))
        {
            var message = requests.Current;
            switch (message.BodyCase)
            {
                case AgentMessage.BodyOneofCase.Report:
                    // Every aggregator of the region ingests (Mode Etcd: agents link to all of them, so each holds
                    // the region's picture); what a report may cause — grants, adoption, rejoin — only the leader does.
                    counters.Report();
                    var record = fleet.ApplyReport(session.Key, session.Id, message.Report, time.GetUtcNow())
                        ?? throw new RpcException(new Status(StatusCode.Aborted, $"node {session.Key} is now served by a newer connection"));
                    foreach (var observer in _observers)
                    {
                        observer.ReportApplied(record);
                    }

                    break;
                case AgentMessage.BodyOneofCase.CommandResult:
                    foreach (var observer in _observers)
                    {
                        await observer.CommandResultAsync(session.Key, message.CommandResult);
                    }

                    break;
                case AgentMessage.BodyOneofCase.Hello:
                    throw Malformed(context, StatusCode.InvalidArgument, "hello sent twice on one stream");
                default:
                    throw Malformed(context, StatusCode.InvalidArgument, "empty message (no body set)");
            }
        }
    }

    private async Task NotifyRefusedAsync(NodeIdentity? identity, string peer, string reason)
    {
        foreach (var observer in _observers)
        {
            await observer.AgentRefusedAsync(identity, peer, reason);
        }
    }

    private AggregatorCommand Welcome(AggregatorOptions config) => new()
    {
        CommandId = "welcome",
        Welcome = new Welcome
        {
            Accepted = true,
            AggregatorId = config.InstanceId,
            Region = config.Region,
            Leader = leadership.IsLeader(time.GetUtcNow()),
            Coordinated = leadership.Coordinated,
            ReportInterval = Duration.FromTimeSpan(config.Link.ReportInterval),
            ServerTime = Timestamp.FromDateTimeOffset(time.GetUtcNow()),
            Detection = failover.Value.ToDetectionSettings(),
        },
    };

    private RpcException Malformed(ServerCallContext context, StatusCode code, string reason)
    {
        counters.Malformed();
        IngestLog.Malformed(logger, context.Peer, reason);
        return new RpcException(new Status(code, reason));
    }

    private static bool ValidName(string value)
    {
        if (value.Length is 0 or > MaxIdentityLength)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>What the rest of the aggregator hears from the ingest path (events, alerts, commands).</summary>
public interface ILinkObserver
{
    /// <summary>Called on the ingest path for every report: must be fast and must not throw.</summary>
    void ReportApplied(NodeRecord record);

    Task AgentRefusedAsync(NodeIdentity? identity, string peer, string reason);

    Task CommandResultAsync(NodeKey node, CommandResult result);
}
