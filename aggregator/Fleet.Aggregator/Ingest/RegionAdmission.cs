using System.Security.Cryptography.X509Certificates;
using Fleet.Protos.V1;

namespace Fleet.Aggregator.Ingest;

/// <summary>The verdict on an agent's hello: admitted, or refused with the reason logged and returned.</summary>
public readonly record struct AdmissionDecision(bool Admitted, string Reason)
{
    public static AdmissionDecision Admit() => new(true, string.Empty);

    public static AdmissionDecision Refuse(string reason) => new(false, reason);
}

/// <summary>
/// Data sovereignty at the door: only agents of the aggregator's own region are admitted. Under mutual
/// TLS the identity comes from the client certificate (OU = region, CN = node name) and the hello must
/// agree with it; in insecure development mode the hello is taken at its word. Pure.
/// </summary>
public static class RegionAdmission
{
    public static AdmissionDecision Decide(NodeIdentity? identity, X509Certificate2? clientCertificate, string aggregatorRegion)
    {
        if (identity is null || string.IsNullOrWhiteSpace(identity.Name) || string.IsNullOrWhiteSpace(identity.Cluster) || string.IsNullOrWhiteSpace(identity.Region))
        {
            return AdmissionDecision.Refuse("hello must name the node, its cluster and its region");
        }

        var region = identity.Region;
        if (clientCertificate is not null)
        {
            var (certificateRegion, certificateNode) = ReadSubject(clientCertificate);
            if (string.IsNullOrEmpty(certificateRegion))
            {
                return AdmissionDecision.Refuse($"client certificate '{clientCertificate.Subject}' names no region (OU)");
            }

            if (!string.Equals(certificateRegion, identity.Region, StringComparison.Ordinal))
            {
                return AdmissionDecision.Refuse($"hello claims region '{identity.Region}' but the client certificate is for region '{certificateRegion}'");
            }

            if (!string.IsNullOrEmpty(certificateNode) && !string.Equals(certificateNode, identity.Name, StringComparison.Ordinal))
            {
                return AdmissionDecision.Refuse($"hello claims node '{identity.Name}' but the client certificate is for node '{certificateNode}'");
            }

            region = certificateRegion;
        }

        return string.Equals(region, aggregatorRegion, StringComparison.Ordinal)
            ? AdmissionDecision.Admit()
            : AdmissionDecision.Refuse($"agent {identity.Cluster}/{identity.Name} is in region '{region}'; this aggregator serves only '{aggregatorRegion}'");
    }

    /// <summary>The OU (region) and CN (node) of a certificate subject.</summary>
    public static (string? Region, string? Node) ReadSubject(X509Certificate2 certificate)
    {
        string? region = null;
        string? node = null;
        foreach (var rdn in certificate.SubjectName.EnumerateRelativeDistinguishedNames())
        {
            var oid = rdn.GetSingleElementType().Value;
            var value = rdn.GetSingleElementValue();
            if (oid == "2.5.4.11")
            {
                region = value;
            }
            else if (oid == "2.5.4.3")
            {
                node = value;
            }
        }

        return (region, node);
    }
}
