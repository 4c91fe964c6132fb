using Fleet.Protos.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace Fleet.Agent.Tests.Host;

/// <summary>The generated fleet.v1.AgentService client with the tests' deadline on every call.</summary>
internal sealed class AgentClient(GrpcChannel channel)
{
    private readonly AgentService.AgentServiceClient _client = new(channel);

    public Task<GetStatusResponse> GetStatusAsync() =>
        _client.GetStatusAsync(new GetStatusRequest(), Deadline()).ResponseAsync.WaitAsync(RunningAgent.CallTimeout);

    public Task<CollectNowResponse> CollectNowAsync() =>
        _client.CollectNowAsync(new CollectNowRequest(), Deadline()).ResponseAsync.WaitAsync(RunningAgent.CallTimeout);

    /// <summary>Calls the operator action named <paramref name="action"/> (Promote, Fence, Follow, Rejoin) with its request type.</summary>
    public static AsyncUnaryCall<ActionResponse> OperatorAction(GrpcChannel channel, string action, Google.Protobuf.IMessage request, CallOptions options)
    {
        var client = new AgentService.AgentServiceClient(channel);
        return (action, request) switch
        {
            ("Promote", PromoteRequest promote) => client.PromoteAsync(promote, options),
            ("Fence", FenceRequest fence) => client.FenceAsync(fence, options),
            ("Follow", FollowRequest follow) => client.FollowAsync(follow, options),
            ("Rejoin", RejoinRequest rejoin) => client.RejoinAsync(rejoin, options),
            _ => throw new ArgumentException($"{action} does not take a {request.Descriptor.Name}", nameof(action)),
        };
    }

    private static CallOptions Deadline() => new(deadline: DateTime.UtcNow + RunningAgent.CallTimeout);
}
