using Fleet.Agent.Collection;
using Fleet.Agent.Configuration;
using Fleet.Agent.Link;
using Fleet.Agent.State;
using Fleet.Protos.V1;
using Grpc.Core;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Options;

namespace Fleet.Agent.Api;

/// <summary>
/// fleet.v1.AgentService: what operators ask one node with grpcurl. VerifyArchive is in
/// AgentApi.VerifyArchive.cs; the operator actions (Promote, Fence, Follow, Rejoin) in AgentApi.Actions.cs.
/// </summary>
internal sealed partial class AgentApi(
    IOptions<AgentOptions> options,
    SnapshotBoard board,
    AgentState state,
    ISnapshotRefresher refresher,
    TimeProvider time,
    AgentCommandDispatcher dispatcher,
    OperatorAudit audit,
    Actions.LeaseClock lease,
    ILogger<AgentApi> logger) : AgentService.AgentServiceBase
{
    public override Task<GetStatusResponse> GetStatus(GetStatusRequest request, ServerCallContext context)
    {
        var node = options.Value.Node;
        var snapshot = board.Current;
        var response = new GetStatusResponse
        {
            Identity = new NodeIdentity { Name = node.Name, Cluster = node.Cluster, Region = node.Region, Zone = node.Zone },
            Role = snapshot?.Role ?? NodeRole.Unknown,
            PostgresState = snapshot?.PostgresState ?? PostgresState.Unspecified,
            Tags = new NodeTags { NoFailover = node.NoFailover, CandidatePriority = node.CandidatePriority },
            AgentVersion = AgentState.Version,
            StartedAt = Timestamp.FromDateTimeOffset(state.StartedAt),
            Uptime = Duration.FromTimeSpan(time.GetUtcNow() - state.StartedAt),
            Link = state.Link,
            Links = { state.Links },
            HighestEpochSeen = state.HighestEpochSeen,
            Fenced = state.Fenced,
        };
        if (snapshot is not null)
        {
            response.Snapshot = snapshot;
        }

        if (lease.ExpiresAt is not null)
        {
            var now = Actions.LeaseClock.Now(time);
            response.Lease = new LeaseState
            {
                Held = lease.IsHeld(now),
                Epoch = lease.Epoch,
                ReportSequence = lease.ReportSequence,
                RemainingMs = (ulong)lease.Remaining(now).TotalMilliseconds,
            };
        }

        if (context.GetHttpContext().RequestServices.GetService<Archive.Hosting.ArchiveStatusBoard>()?.Current is { } archive)
        {
            response.Archive = archive;
        }

        return Task.FromResult(response);
    }

    public override async Task<CollectNowResponse> CollectNow(CollectNowRequest request, ServerCallContext context) =>
        new() { Snapshot = await refresher.CollectNowAsync(context.CancellationToken) };
}
