using Fleet.Hosting.Grpc;
using Fleet.Testing.Hosting;
using Fleet.Testing.Tls;

namespace Fleet.Grpc.Tests.Interop;

/// <summary>python3-grpcio over TLS against a Fleet TLS server (Grpc.AspNetCore on Kestrel).</summary>
public sealed class TlsInteropTests
{
    [Fact]
    public async Task PythonClient_OverTls_RunsScenarios()
    {
        using var ca = new TestCertificateAuthority();
        await using var server = await GrpcTestServer.StartEchoAsync(tls: new GrpcTlsOptions { ServerCertificate = ca.IssueServer() });
        var caFile = Path.Combine(Path.GetTempPath(), $"fleet-ca-{Guid.NewGuid():N}.pem");
        await File.WriteAllTextAsync(caFile, ca.Certificate.ExportCertificatePem());
        try
        {
            InteropPeers.RequirePython();
            var results = InteropPeers.RunClient(InteropPeers.Python,
            [
                InteropPeers.PythonClient, "--target", $"127.0.0.1:{server.Port}", "--descriptor-set", InteropPeers.DescriptorSetPath,
                "--ca", caFile, "--server-name", "localhost", "--scenarios", "unary,bidi,error_status,metadata,reflection",
            ]);

            Assert.Equal(5, results.Count);
            Assert.All(results.Values, r => Assert.True(r.Ok, $"{r.Name}: {r.Detail}"));
        }
        finally
        {
            File.Delete(caFile);
        }
    }
}
