using System.Security.Cryptography.X509Certificates;

namespace Fleet.Hosting;

/// <summary>Loads TLS material from PEM files, as Kubernetes secrets and cert-manager provide it.</summary>
public static class PemFiles
{
    /// <summary>A certificate with its private key, usable by SslStream (exported through PKCS#12 as Linux needs).</summary>
    public static X509Certificate2 LoadCertificateWithKey(string certificateFile, string keyFile)
    {
        using var pem = X509Certificate2.CreateFromPemFile(certificateFile, keyFile);
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>The first certificate of a PEM file (a CA).</summary>
    public static X509Certificate2 LoadCertificate(string file) => X509Certificate2.CreateFromPem(File.ReadAllText(file));
}
