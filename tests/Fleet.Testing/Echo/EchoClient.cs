using Fleet.Rpc;
using Fleet.Rpc.Client;

namespace Fleet.Testing.Echo;

/// <summary>A typed Fleet.Rpc client for EchoService, built from its descriptor.</summary>
public sealed class EchoClient(GrpcChannel channel)
{
    public static readonly Method<EchoRequest, EchoReply> EchoMethod = Method<EchoRequest, EchoReply>.FromDescriptor(EchoService.Descriptor.GetMethod("Echo"));
    public static readonly Method<ExpandRequest, EchoReply> ExpandMethod = Method<ExpandRequest, EchoReply>.FromDescriptor(EchoService.Descriptor.GetMethod("Expand"));
    public static readonly Method<EchoRequest, CollectReply> CollectMethod = Method<EchoRequest, CollectReply>.FromDescriptor(EchoService.Descriptor.GetMethod("Collect"));
    public static readonly Method<EchoRequest, EchoReply> ChatMethod = Method<EchoRequest, EchoReply>.FromDescriptor(EchoService.Descriptor.GetMethod("Chat"));
    public static readonly Method<StatsRequest, StatsReply> StatsMethod = Method<StatsRequest, StatsReply>.FromDescriptor(EchoService.Descriptor.GetMethod("Stats"));

    public AsyncUnaryCall<EchoReply> Echo(EchoRequest request, CallOptions options = default) => channel.UnaryCall(EchoMethod, request, options);

    public AsyncServerStreamingCall<EchoReply> Expand(ExpandRequest request, CallOptions options = default) => channel.ServerStreamingCall(ExpandMethod, request, options);

    public AsyncClientStreamingCall<EchoRequest, CollectReply> Collect(CallOptions options = default) => channel.ClientStreamingCall(CollectMethod, options);

    public AsyncDuplexStreamingCall<EchoRequest, EchoReply> Chat(CallOptions options = default) => channel.DuplexStreamingCall(ChatMethod, options);

    public AsyncUnaryCall<StatsReply> Stats(CallOptions options = default) => channel.UnaryCall(StatsMethod, new StatsRequest(), options);
}
