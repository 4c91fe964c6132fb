using Fleet.Aggregator.Ingest;
using Fleet.Protos.V1;
using Fleet.Testing.Tls;

namespace Fleet.Aggregator.Tests.Ingest;

/// <summary>Data sovereignty at the door, as a table: who is admitted to an aggregator of region "kr-central".</summary>
public sealed class RegionAdmissionTests : IDisposable
{
    private const string Region = "kr-central";
    private readonly TestCertificateAuthority _ca = new();

    public static TheoryData<string, string?, bool, string> Cases => new()
    {
        // hello (cluster/node@region), client certificate subject (null: no TLS), admitted, reason contains
        { "orders/db-1@kr-central", null, true, "" },
        { "orders/db-1@eu-west", null, false, "is in region 'eu-west'; this aggregator serves only 'kr-central'" },
        { "orders/db-1@kr-central", "CN=db-1, OU=kr-central", true, "" },
        { "orders/db-1@kr-central", "OU=kr-central", true, "" }, // a region certificate without a node name
        { "orders/db-1@kr-central", "CN=db-1, OU=eu-west", false, "hello claims region 'kr-central' but the client certificate is for region 'eu-west'" },
        { "orders/db-1@eu-west", "CN=db-1, OU=eu-west", false, "is in region 'eu-west'; this aggregator serves only 'kr-central'" },
        { "orders/db-1@kr-central", "CN=db-2, OU=kr-central", false, "hello claims node 'db-1' but the client certificate is for node 'db-2'" },
        { "orders/db-1@kr-central", "CN=db-1", false, "names no region (OU)" },
        { "orders/@kr-central", null, false, "hello must name the node, its cluster and its region" },
        { "/db-1@kr-central", null, false, "hello must name the node, its cluster and its region" },
        { "orders/db-1@", null, false, "hello must name the node, its cluster and its region" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Decide(string hello, string? certificateSubject, bool admitted, string reason)
    {
        var (clusterNode, region) = (hello[..hello.IndexOf('@', StringComparison.Ordinal)], hello[(hello.IndexOf('@', StringComparison.Ordinal) + 1)..]);
        var identity = new NodeIdentity { Cluster = clusterNode[..clusterNode.IndexOf('/', StringComparison.Ordinal)], Name = clusterNode[(clusterNode.IndexOf('/', StringComparison.Ordinal) + 1)..], Region = region };
        using var certificate = certificateSubject is null ? null : _ca.IssueClient(certificateSubject);

        var decision = RegionAdmission.Decide(identity, certificate, Region);

        Assert.Equal(admitted, decision.Admitted);
        Assert.Contains(reason, decision.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void NoHelloIdentity_IsRefused() =>
        Assert.False(RegionAdmission.Decide(null, null, Region).Admitted);

    public void Dispose() => _ca.Dispose();
}
