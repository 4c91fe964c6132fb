using System.Security.Cryptography.X509Certificates;
using Fleet.Agent;
using Fleet.Aggregator;
using Fleet.Testing;
using Fleet.Testing.Tls;

namespace Fleet.EndToEnd.Tests.Deploy;

/// <summary>
/// deploy/kubernetes checked as strictly as an API server would (tests/deploy/validate.mjs: the Kubernetes
/// schemas of kubernetes-models, and every field known to @kubernetes/client-node's models), and the
/// configuration files its ConfigMaps carry accepted by the real hosts with the pods' environment.
/// </summary>
public sealed class KubernetesManifestTests
{
    private static string Manifests => Path.Combine(RepositoryRoot.Path, "deploy", "kubernetes");

    [Fact]
    public void Manifests_PassStrictSchemaValidation()
    {
        var (exitCode, output) = Validate(Manifests);

        Assert.True(exitCode == 0, output);
        Assert.Contains("checked ../../deploy/kubernetes/postgres-sidecar/statefulset.yaml StatefulSet/orders-db", output, StringComparison.Ordinal);
        Assert.Contains("checked ../../deploy/kubernetes/agent-daemonset/daemonset.yaml DaemonSet/fleet-agent", output, StringComparison.Ordinal);
        Assert.Contains("checked ../../deploy/kubernetes/aggregator/statefulset.yaml StatefulSet/fleet-aggregator", output, StringComparison.Ordinal);
        Assert.Contains(" 0 problems", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Validator_RejectsAMisspeltField_AWrongType_AndAMissingFile()
    {
        var directory = Directory.CreateTempSubdirectory("fleet-manifests-").FullName;
        try
        {
            var statefulSet = File.ReadAllText(Path.Combine(Manifests, "aggregator", "statefulset.yaml"));
            File.WriteAllText(Path.Combine(directory, "misspelt.yaml"), statefulSet.Replace("readinessProbe:", "readynessProbe:", StringComparison.Ordinal));
            File.WriteAllText(Path.Combine(directory, "type.yaml"), statefulSet.Replace("replicas: 3", "replicas: three", StringComparison.Ordinal));
            File.WriteAllText(Path.Combine(directory, "kustomization.yaml"), "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - missing.yaml\n");

            var (exitCode, output) = Validate(directory);

            Assert.Equal(1, exitCode);
            Assert.Contains("unknown field 'readynessProbe' (V1Container)", output, StringComparison.Ordinal);
            Assert.Contains("type.yaml StatefulSet/fleet-aggregator: ", output, StringComparison.Ordinal);
            Assert.Contains("resource 'missing.yaml' does not exist", output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Theory]
    [InlineData("postgres-sidecar")]
    [InlineData("agent-daemonset")]
    public async Task AgentConfiguration_IsAcceptedByTheAgent(string component)
    {
        using var files = new MountedFiles();
        await using var app = AgentHost.Build(Path.Combine(Manifests, component, "agent.json"), new Dictionary<string, string?>
        {
            // What the pod's environment and mounted Secrets provide.
            ["Node:Name"] = "orders-db-0",
            ["Replication:Host"] = "orders-db-0.orders-db.fleet.svc",
            ["Tls:CertificateFile"] = files.Certificate,
            ["Tls:KeyFile"] = files.Key,
            ["Tls:CaFile"] = files.Ca,
            ["Postgres:PasswordFile"] = files.Password,
        });

        Assert.NotNull(app);
    }

    [Fact]
    public async Task AggregatorConfiguration_IsAcceptedByTheAggregator()
    {
        using var files = new MountedFiles();
        await using var app = AggregatorHost.Build(Path.Combine(Manifests, "aggregator", "aggregator.json"), new Dictionary<string, string?>
        {
            ["InstanceId"] = "fleet-aggregator-0",
            ["Coordination:Name"] = "fleet-aggregator-0",
            ["Coordination:AdvertiseAddress"] = "https://fleet-aggregator-0.fleet-aggregator-headless.fleet.svc:7300",
            ["Tls:CertificateFile"] = files.Certificate,
            ["Tls:KeyFile"] = files.Key,
            ["Tls:CaFile"] = files.Ca,
            ["Coordination:Etcd:CaFile"] = files.Ca,
            ["Coordination:Etcd:CertificateFile"] = files.Certificate,
            ["Coordination:Etcd:KeyFile"] = files.Key,
            ["Store:Path"] = Path.Combine(files.Directory, "fleet-aggregator.db"),
        });

        Assert.NotNull(app);
    }

    private static (int ExitCode, string Output) Validate(string directory)
    {
        var scripts = Path.Combine(RepositoryRoot.Path, "tests", "deploy");
        Assert.True(Directory.Exists(Path.Combine(scripts, "node_modules", "kubernetes-models")),
            "tests/deploy/node_modules is missing: scripts/install-deps.sh runs npm ci there");
        return ExternalCommand.TryRun(scripts, TimeSpan.FromSeconds(60), "node", "validate.mjs", directory);
    }

    /// <summary>The files a pod gets from its Secrets: a certificate and key from a test CA, and a password.</summary>
    private sealed class MountedFiles : IDisposable
    {
        private readonly TestCertificateAuthority _ca = new();

        public MountedFiles()
        {
            Directory = System.IO.Directory.CreateTempSubdirectory("fleet-mounted-").FullName;
            using var certificate = _ca.IssueServer("fleet-aggregator-0");
            Certificate = Write("tls.crt", certificate.ExportCertificatePem());
            Key = Write("tls.key", certificate.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem());
            Ca = Write("ca.crt", _ca.Certificate.ExportCertificatePem());
            Password = Write("password", "not-a-real-password\n");
        }

        public string Directory { get; }

        public string Certificate { get; }

        public string Key { get; }

        public string Ca { get; }

        public string Password { get; }

        public void Dispose()
        {
            _ca.Dispose();
            System.IO.Directory.Delete(Directory, recursive: true);
        }

        private string Write(string name, string content)
        {
            var path = Path.Combine(Directory, name);
            File.WriteAllText(path, content);
            return path;
        }
    }
}
