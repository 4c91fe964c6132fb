using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Fleet.Hosting.Grpc;

/// <summary>Chain validation against one private CA, as used between Fleet processes.</summary>
public static class CertificateValidation
{
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
