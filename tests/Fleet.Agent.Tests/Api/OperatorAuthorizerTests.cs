using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Fleet.Agent.Api;
using Fleet.Testing.Tls;

namespace Fleet.Agent.Tests.Api;

/// <summary>The operator rule on real certificates of a test CA, and the audit line format (no cluster needed).</summary>
public sealed class OperatorAuthorizerTests : IDisposable
{
    private const string Peer = "ipv4:10.0.0.5:40000";

    private readonly TestCertificateAuthority _ca = new();

    [Theory]
    [InlineData("CN=alice, OU=operators, O=fleet", "alice")]
    [InlineData("CN=\"Smith, Alice\", OU=operators", "Smith, Alice")]
    [InlineData("CN=\"a+b=c\", OU=operators", "a+b=c")]
    public void OperatorsCertificate_Allowed_ActorIsTheCommonName(string subject, string actor)
    {
        using var certificate = _ca.IssueClient(subject);

        var decision = OperatorAuthorizer.Decide(certificate, tls: true, "someone else", Peer);

        Assert.Null(decision.Denied);
        Assert.Equal(actor, decision.Actor);
    }

    [Fact]
    public void OperatorsCertificateWithoutCommonName_ActorIsTheSubject()
    {
        using var certificate = _ca.IssueClient("OU=operators, O=fleet");

        var decision = OperatorAuthorizer.Decide(certificate, tls: true, "", Peer);

        Assert.Null(decision.Denied);
        Assert.Equal(certificate.Subject, decision.Actor);
    }

    [Theory]
    [InlineData("CN=node1, OU=eu-west, O=fleet")] // an agent's
    [InlineData("CN=x, O=\"fleet, OU=operators\", OU=eu-west")] // "OU=operators" only inside another value
    [InlineData("CN=x, OU=\"operators, OU=eu-west\"")]
    [InlineData("CN=x, OU=Operators")]
    [InlineData("CN=x, OU=operators, OU=eu-west")] // two units: ambiguous
    [InlineData("CN=operators")]
    public void OtherCertificates_Denied_NamingTheSubject(string subject)
    {
        using var certificate = _ca.IssueClient(subject);

        var decision = OperatorAuthorizer.Decide(certificate, tls: true, "alice", Peer);

        Assert.NotNull(decision.Denied);
        Assert.Contains($"'{certificate.Subject}'", decision.Denied, StringComparison.Ordinal);
    }

    [Fact]
    public void MultiValuedComponent_Denied()
    {
        // One component holding both CN=x and OU=operators ("CN=x + OU=operators"); the string parser cannot
        // make one, so the name is encoded by hand.
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        using (writer.PushSetOf())
        {
            foreach (var (oid, value) in new[] { ("2.5.4.3", "x"), ("2.5.4.11", "operators") })
            {
                using (writer.PushSequence())
                {
                    writer.WriteObjectIdentifier(oid);
                    writer.WriteCharacterString(UniversalTagNumber.UTF8String, value);
                }
            }
        }

        using var key = ECDsa.Create();
        var request = new CertificateRequest(new X500DistinguishedName(writer.Encode()), key, HashAlgorithmName.SHA256);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        Assert.True(Assert.Single(certificate.SubjectName.EnumerateRelativeDistinguishedNames()).HasMultipleElements);

        var decision = OperatorAuthorizer.Decide(certificate, tls: true, "alice", Peer);

        Assert.NotNull(decision.Denied);
        Assert.Contains("multi-valued", decision.Denied, StringComparison.Ordinal);
    }

    [Fact]
    public void TlsWithoutClientCertificate_Denied()
    {
        var decision = OperatorAuthorizer.Decide(null, tls: true, "alice", Peer);

        Assert.NotNull(decision.Denied);
    }

    [Theory]
    [InlineData("alice", "alice@ipv4:10.0.0.5:40000 (unauthenticated: no TLS)")]
    [InlineData("", "anonymous@ipv4:10.0.0.5:40000 (unauthenticated: no TLS)")]
    [InlineData("  ", "anonymous@ipv4:10.0.0.5:40000 (unauthenticated: no TLS)")]
    public void WithoutTls_AllowedAsTheStatedNameAtThePeer(string stated, string actor)
    {
        var decision = OperatorAuthorizer.Decide(null, tls: false, stated, Peer);

        Assert.Null(decision.Denied);
        Assert.Equal(actor, decision.Actor);
    }

    [Fact]
    public void AuditLine_OneJsonObjectOnOneLine_ControlCharactersEscaped()
    {
        var time = new DateTimeOffset(2025, 3, 1, 10, 0, 0, TimeSpan.FromHours(9));
        var record = new OperatorAuditRecord(time, "Smith, Alice", "alice", "Fence", 7, "SUCCEEDED", "Fence done", "line\nbreak \"quoted\"", Peer);

        var bytes = OperatorAudit.Serialize(record);
        var text = Encoding.UTF8.GetString(bytes);

        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', text[..^1]);
        using var json = JsonDocument.Parse(text);
        var root = json.RootElement;
        Assert.Equal(
            ["time", "actor", "operator", "action", "epoch", "outcome", "message", "reason", "peer"],
            root.EnumerateObject().Select(p => p.Name));
        Assert.Equal("2025-03-01T01:00:00Z", root.GetProperty("time").GetString());
        Assert.Equal(7UL, root.GetProperty("epoch").GetUInt64());
        Assert.Equal("line\nbreak \"quoted\"", root.GetProperty("reason").GetString());
        Assert.Equal("Smith, Alice", root.GetProperty("actor").GetString());
    }

    public void Dispose() => _ca.Dispose();
}
