using Fleet.Hosting.Grpc;
using Fleet.Testing.Echo;
using Fleet.Testing.Hosting;
using Grpc.Net.Client;

namespace Fleet.Grpc.Tests.EndToEnd;

/// <summary>One real Kestrel server with EchoService, dialled the way Fleet's clients dial (<see cref="GrpcChannels"/>), shared by a test class.</summary>
public sealed class EchoServerFixture : IAsyncLifetime
{
    public GrpcTestServer Server { get; private set; } = null!;

    public GrpcChannel Channel { get; private set; } = null!;

    public EchoService.EchoServiceClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await GrpcTestServer.StartEchoAsync();
        Channel = GrpcChannels.ForAddress(Server.Address);
        Client = new EchoService.EchoServiceClient(Channel);
    }

    public async Task DisposeAsync()
    {
        Channel.Dispose();
        await Server.DisposeAsync();
    }
}
