using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Fleet.Hosting.Grpc;

/// <summary>Chain validation against one private CA, as used between Fleet processes.</summary>
public static class CertificateValidation
{
    /// <summary>
    /// A client's check of the server it dialled: its certificate chains to <paramref name="authority"/> (the system's
    /// roots do not count) and names the host dialled.
    /// </summary>
    public static RemoteCertificateValidationCallback ServerSignedBy(X509Certificate2 authority) =>
        (_, certificate, _, errors) => certificate is X509Certificate2 server
            && ChainsTo(server, authority, errors & ~SslPolicyErrors.RemoteCertificateChainErrors, checkName: true);

    /// <summary>True when <paramref name="certificate"/> chains to <paramref name="authority"/> and is otherwise valid.</summary>
    public static bool ChainsTo(X509Certificate2 certificate, X509Certificate2 authority, SslPolicyErrors errors, bool checkName)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(authority);
        if (checkName && errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
        {
            return false;
        }

        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate);
    }
}
