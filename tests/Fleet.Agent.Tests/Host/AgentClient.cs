using Fleet.Protos.V1;
using Fleet.Rpc;
using Fleet.Rpc.Client;
using Google.Protobuf.Reflection;

namespace Fleet.Agent.Tests.Host;

/// <summary>A typed Fleet.Rpc client for fleet.v1.AgentService, built from its descriptor as an operator's tool would be.</summary>
internal sealed class AgentClient(GrpcChannel channel)
{
    public static readonly ServiceDescriptor Service = AgentReflection.Descriptor.Services.Single(s => s.Name == "AgentService");

    public static readonly Method<GetStatusRequest, GetStatusResponse> GetStatusMethod =
        Method<GetStatusRequest, GetStatusResponse>.FromDescriptor(Service.GetMethod("GetStatus"));

    public static readonly Method<CollectNowRequest, CollectNowResponse> CollectNowMethod =
        Method<CollectNowRequest, CollectNowResponse>.FromDescriptor(Service.GetMethod("CollectNow"));

    public Task<GetStatusResponse> GetStatusAsync() =>
        channel.UnaryCall(GetStatusMethod, new GetStatusRequest(), Deadline()).ResponseAsync.WaitAsync(RunningAgent.CallTimeout);

    public Task<CollectNowResponse> CollectNowAsync() =>
        channel.UnaryCall(CollectNowMethod, new CollectNowRequest(), Deadline()).ResponseAsync.WaitAsync(RunningAgent.CallTimeout);

    private static CallOptions Deadline() => new CallOptions().WithTimeout(RunningAgent.CallTimeout);
}
