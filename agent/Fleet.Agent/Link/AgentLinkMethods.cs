using Fleet.Protos.V1;
using Fleet.Rpc;

namespace Fleet.Agent.Link;

internal static class AgentLinkMethods
{
    public static readonly Method<AgentMessage, AggregatorCommand> Connect =
        Method<AgentMessage, AggregatorCommand>.FromDescriptor(
            LinkReflection.Descriptor.Services.Single(s => s.Name == "AgentLink").GetMethod("Connect"));
}
