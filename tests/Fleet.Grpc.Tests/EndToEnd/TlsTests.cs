using Fleet.Hosting.Grpc;
using Fleet.Testing;
using Fleet.Testing.Echo;
using Fleet.Testing.Hosting;
using Fleet.Testing.Tls;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;

namespace Fleet.Grpc.Tests.EndToEnd;

public sealed class TlsTests : IDisposable
{
    private readonly TestCertificateAuthority _ca = new();

    [Fact]
    public async Task Tls_ClientTrustingTheCa_Calls()
    {
        await using var server = await GrpcTestServer.StartEchoAsync(tls: new GrpcTlsOptions { ServerCertificate = _ca.IssueServer() });
        using var channel = GrpcChannels.ForAddress(server.Address, new GrpcClientOptions { ServerCertificateAuthority = _ca.Certificate });

        var reply = await new EchoService.EchoServiceClient(channel).EchoAsync(new EchoRequest { Text = "tls" }).ResponseAsync.DefaultTimeout();

        Assert.Equal("tls", reply.Text);
    }

    [Fact]
    public async Task Tls_ServerFromAnotherCa_IsInternal_FromTheCertificateCheck()
    {
        using var otherCa = new TestCertificateAuthority("Other CA");
        await using var server = await GrpcTestServer.StartEchoAsync(tls: new GrpcTlsOptions { ServerCertificate = otherCa.IssueServer() });
        using var channel = GrpcChannels.ForAddress(server.Address, new GrpcClientOptions { ServerCertificateAuthority = _ca.Certificate });

        var ex = await Assert.ThrowsAsync<RpcException>(() => new EchoService.EchoServiceClient(channel).EchoAsync(new EchoRequest()).ResponseAsync).DefaultTimeout();

        // Grpc.Net.Client maps a failed connection attempt without an IOException or SocketException in it to INTERNAL.
        Assert.True(ex.StatusCode == StatusCode.Internal, ex.Status.ToString());
        Assert.IsType<System.Security.Authentication.AuthenticationException>(Assert.IsType<HttpRequestException>(ex.Status.DebugException).InnerException);
    }

    [Fact]
    public async Task Tls_CleartextClient_IsRefused()
    {
        await using var server = await GrpcTestServer.StartEchoAsync(tls: new GrpcTlsOptions { ServerCertificate = _ca.IssueServer() });
        using var channel = GrpcChannels.ForAddress($"http://127.0.0.1:{server.Port}");

        var ex = await Assert.ThrowsAsync<RpcException>(() => new EchoService.EchoServiceClient(channel).EchoAsync(new EchoRequest()).ResponseAsync).DefaultTimeout();

        AssertRefusedWhileConnecting(ex);
    }

    [Fact]
    public async Task MutualTls_PeerCertificateIsVisibleToHandlers()
    {
        await using var server = await GrpcTestServer.StartAsync(
            s => s.AddSingleton<WhoAmIService>(),
            e => e.MapFleetGrpcService<WhoAmIService>(EchoService.Descriptor),
            tls: new GrpcTlsOptions { ServerCertificate = _ca.IssueServer(), ClientCertificateAuthority = _ca.Certificate });
        using var channel = GrpcChannels.ForAddress(server.Address, new GrpcClientOptions
        {
            ServerCertificateAuthority = _ca.Certificate,
            ClientCertificate = _ca.IssueClient("CN=node1, OU=kr-central, O=fleet"),
        });

        var reply = await new EchoService.EchoServiceClient(channel).EchoAsync(new EchoRequest()).ResponseAsync.DefaultTimeout();

        Assert.Equal("CN=node1, OU=kr-central, O=fleet | x509_common_name=node1", reply.Text);
    }

    [Fact]
    public async Task MutualTls_ClientWithoutCertificate_IsRefused()
    {
        await using var server = await GrpcTestServer.StartEchoAsync(
            tls: new GrpcTlsOptions { ServerCertificate = _ca.IssueServer(), ClientCertificateAuthority = _ca.Certificate });
        using var channel = GrpcChannels.ForAddress(server.Address, new GrpcClientOptions { ServerCertificateAuthority = _ca.Certificate });

        var ex = await Assert.ThrowsAsync<RpcException>(() => new EchoService.EchoServiceClient(channel).EchoAsync(new EchoRequest()).ResponseAsync).DefaultTimeout();

        AssertRefusedWhileConnecting(ex);
        await AssertNoCallReachedTheHandlerAsync(server);
    }

    [Fact]
    public async Task MutualTls_ClientCertificateFromAnotherCa_IsRefused()
    {
        using var otherCa = new TestCertificateAuthority("Rogue CA");
        await using var server = await GrpcTestServer.StartEchoAsync(
            tls: new GrpcTlsOptions { ServerCertificate = _ca.IssueServer(), ClientCertificateAuthority = _ca.Certificate });
        using var channel = GrpcChannels.ForAddress(server.Address, new GrpcClientOptions
        {
            ServerCertificateAuthority = _ca.Certificate,
            ClientCertificate = otherCa.IssueClient("CN=intruder, OU=kr-central"),
        });

        var ex = await Assert.ThrowsAsync<RpcException>(() => new EchoService.EchoServiceClient(channel).EchoAsync(new EchoRequest()).ResponseAsync).DefaultTimeout();

        AssertRefusedWhileConnecting(ex);
        await AssertNoCallReachedTheHandlerAsync(server);
    }

    public void Dispose() => _ca.Dispose();

    /// <summary>A client with a proper certificate asks the echo server how many calls it started: only its own.</summary>
    private async Task AssertNoCallReachedTheHandlerAsync(GrpcTestServer server)
    {
        using var channel = GrpcChannels.ForAddress(server.Address, new GrpcClientOptions
        {
            ServerCertificateAuthority = _ca.Certificate,
            ClientCertificate = _ca.IssueClient("CN=auditor, OU=operators"),
        });
        var stats = await new EchoService.EchoServiceClient(channel).StatsAsync(new StatsRequest()).ResponseAsync.DefaultTimeout();
        Assert.Equal(1, stats.TotalCalls);
    }

    /// <summary>
    /// The connection was refused before any response: "Error starting gRPC call." with the HttpRequestException that
    /// ended it. Grpc.Net.Client says UNAVAILABLE when the refusal reaches it as a reset (IOException) and INTERNAL when
    /// as "the server did not complete the HTTP/2 handshake"; which one comes first is a race in the TLS stack.
    /// </summary>
    private static void AssertRefusedWhileConnecting(RpcException ex)
    {
        Assert.True(ex.StatusCode is StatusCode.Unavailable or StatusCode.Internal, ex.Status.ToString());
        Assert.StartsWith("Error starting gRPC call.", ex.Status.Detail, StringComparison.Ordinal);
        Assert.IsType<HttpRequestException>(ex.Status.DebugException);
    }

    /// <summary>
    /// Answers Echo with the caller's certificate as handlers see it: the subject from the connection (what Fleet's
    /// hosts read) and the common name from gRPC's AuthContext.
    /// </summary>
    private sealed class WhoAmIService : EchoService.EchoServiceBase
    {
        public override Task<EchoReply> Echo(EchoRequest request, ServerCallContext context)
        {
            var subject = context.GetHttpContext().Connection.ClientCertificate?.Subject ?? "anonymous";
            var commonName = string.Join(",", context.AuthContext.FindPropertiesByName("x509_common_name").Select(p => p.Value));
            return Task.FromResult(new EchoReply { Text = $"{subject} | x509_common_name={commonName}" });
        }
    }
}
