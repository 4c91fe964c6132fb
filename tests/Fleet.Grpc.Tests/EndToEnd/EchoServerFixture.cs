using Fleet.Rpc.Client;
using Fleet.Testing.Echo;
using Fleet.Testing.Hosting;

namespace Fleet.Rpc.Tests.EndToEnd;

/// <summary>One real Kestrel server with EchoService shared by a test class.</summary>
public sealed class EchoServerFixture : IAsyncLifetime
{
    public GrpcTestServer Server { get; private set; } = null!;

    public GrpcChannel Channel { get; private set; } = null!;

    public EchoClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await GrpcTestServer.StartEchoAsync();
        Channel = GrpcChannel.ForAddress(Server.Address);
        Client = new EchoClient(Channel);
    }

    public async Task DisposeAsync()
    {
        Channel.Dispose();
        await Server.DisposeAsync();
    }
}
