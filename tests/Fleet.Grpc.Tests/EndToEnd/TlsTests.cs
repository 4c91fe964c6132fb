using Fleet.Rpc.Client;
using Fleet.Rpc.Hosting;
using Fleet.Rpc.Server;
using Fleet.Testing;
using Fleet.Testing.Echo;
using Fleet.Testing.Hosting;
using Fleet.Testing.Tls;
using Microsoft.Extensions.DependencyInjection;

namespace Fleet.Rpc.Tests.EndToEnd;

public sealed class TlsTests : IDisposable
{
    private readonly TestCertificateAuthority _ca = new();

    [Fact]
    public async Task Tls_ClientTrustingTheCa_Calls()
    {
        await using var server = await GrpcTestServer.StartEchoAsync(tls: new GrpcTlsOptions { ServerCertificate = _ca.IssueServer() });
        using var channel = GrpcChannel.ForAddress(server.Address, new GrpcChannelOptions { ServerCertificateAuthority = _ca.Certificate });

        var reply = await new EchoClient(channel).Echo(new EchoRequest { Text = "tls" }).ResponseAsync.DefaultTimeout();

        Assert.Equal("tls", reply.Text);
    }

    [Fact]
    public async Task Tls_ServerFromAnotherCa_IsUnavailable()
    {
        using var otherCa = new TestCertificateAuthority("Other CA");
        await using var server = await GrpcTestServer.StartEchoAsync(tls: new GrpcTlsOptions { ServerCertificate = otherCa.IssueServer() });
        using var channel = GrpcChannel.ForAddress(server.Address, new GrpcChannelOptions { ServerCertificateAuthority = _ca.Certificate });

        var ex = await Assert.ThrowsAsync<RpcException>(() => new EchoClient(channel).Echo(new EchoRequest()).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
    }

    [Fact]
    public async Task MutualTls_PeerCertificateIsVisibleToHandlers()
    {
        await using var server = await GrpcTestServer.StartAsync(
            s => s.AddSingleton<WhoAmIService>(),
            e => e.MapGrpcService<WhoAmIService>(EchoService.Descriptor),
            tls: new GrpcTlsOptions { ServerCertificate = _ca.IssueServer(), ClientCertificateAuthority = _ca.Certificate });
        using var channel = GrpcChannel.ForAddress(server.Address, new GrpcChannelOptions
        {
            ServerCertificateAuthority = _ca.Certificate,
            ClientCertificate = _ca.IssueClient("CN=node1, OU=kr-central, O=fleet"),
        });

        var reply = await new EchoClient(channel).Echo(new EchoRequest()).ResponseAsync.DefaultTimeout();

        Assert.Equal("CN=node1, OU=kr-central, O=fleet", reply.Text);
    }

    [Fact]
    public async Task MutualTls_ClientWithoutCertificate_IsRefused()
    {
        await using var server = await GrpcTestServer.StartEchoAsync(
            tls: new GrpcTlsOptions { ServerCertificate = _ca.IssueServer(), ClientCertificateAuthority = _ca.Certificate });
        using var channel = GrpcChannel.ForAddress(server.Address, new GrpcChannelOptions { ServerCertificateAuthority = _ca.Certificate });

        var ex = await Assert.ThrowsAsync<RpcException>(() => new EchoClient(channel).Echo(new EchoRequest()).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
    }

    [Fact]
    public async Task MutualTls_ClientCertificateFromAnotherCa_IsRefused()
    {
        using var otherCa = new TestCertificateAuthority("Rogue CA");
        await using var server = await GrpcTestServer.StartEchoAsync(
            tls: new GrpcTlsOptions { ServerCertificate = _ca.IssueServer(), ClientCertificateAuthority = _ca.Certificate });
        using var channel = GrpcChannel.ForAddress(server.Address, new GrpcChannelOptions
        {
            ServerCertificateAuthority = _ca.Certificate,
            ClientCertificate = otherCa.IssueClient("CN=intruder, OU=kr-central"),
        });

        var ex = await Assert.ThrowsAsync<RpcException>(() => new EchoClient(channel).Echo(new EchoRequest()).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
    }

    public void Dispose() => _ca.Dispose();

    /// <summary>Answers Echo with the subject of the caller's certificate.</summary>
    private sealed class WhoAmIService
    {
        public Task<EchoReply> Echo(EchoRequest request, ServerCallContext context) =>
            Task.FromResult(new EchoReply { Text = context.PeerCertificate?.Subject ?? "anonymous" });
    }
}
