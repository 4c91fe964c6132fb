using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Fleet.Testing.Tls;

/// <summary>An in-memory private CA issuing server and client certificates for TLS tests.</summary>
public sealed class TestCertificateAuthority : IDisposable
{
    private readonly RSA _key;

    public TestCertificateAuthority(string name = "Fleet Test CA")
    {
        _key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", _key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        Certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
    }

    public X509Certificate2 Certificate { get; }

    /// <summary>A server certificate for localhost and 127.0.0.1.</summary>
    public X509Certificate2 IssueServer(string commonName = "localhost")
    {
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        return Issue($"CN={commonName}", new Oid("1.3.6.1.5.5.7.3.1"), san.Build());
    }

    /// <summary>A client certificate; Fleet reads identity (for example the region) from its subject.</summary>
    public X509Certificate2 IssueClient(string subject) => Issue(subject, new Oid("1.3.6.1.5.5.7.3.2"), null);

    public void Dispose()
    {
        Certificate.Dispose();
        _key.Dispose();
    }

    private X509Certificate2 Issue(string subject, Oid usage, X509Extension? san)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([usage], false));
        if (san is not null)
        {
            request.CertificateExtensions.Add(san);
        }

        var serial = RandomNumberGenerator.GetBytes(16);
        using var issued = request.Create(Certificate, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7), serial);
        // Round-trip through PKCS#12 so SslStream can use the private key on Linux.
        var withKey = issued.CopyWithPrivateKey(key);
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }
}
