using System.Globalization;
using Fleet.Testing;

namespace Fleet.EndToEnd.Tests.Deploy;

/// <summary>
/// podman for the container tests: the images scripts/test.sh built, and a group of containers on the host
/// network that is removed afterwards (also those a crashed earlier run left, found by their owner label).
/// </summary>
internal static class Podman
{
    public const string AgentImage = "fleet-agent:dev";
    public const string AggregatorImage = "fleet-aggregator:dev";
    public const string PostgresImage = "fleet-test-postgres:dev";

    private const string OwnerLabel = "io.fleet.test-owner";

    /// <summary>The uid of the postgres user in the agent and PostgreSQL images (Dockerfile.agent).</summary>
    private const string PostgresUser = "999:999";

    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(2);

    private static string ContainersConf =>
        Environment.GetEnvironmentVariable("CONTAINERS_CONF") is { Length: > 0 } conf ? conf : Path.Combine(RepositoryRoot.Path, "tests", "containers", "containers.conf");

    public static bool ImageExists(string image) => TryRun("image", "exists", image).ExitCode == 0;

    public static long ImageSize(string image) =>
        long.Parse(Run("image", "inspect", "--format", "{{.Size}}", image).Trim(), CultureInfo.InvariantCulture);

    public static (int ExitCode, string Output) TryRun(params string[] arguments) =>
        ExternalCommand.TryRun(null, CommandTimeout, ["env", $"CONTAINERS_CONF={ContainersConf}", "podman", .. arguments]);

    public static string Run(params string[] arguments)
    {
        var (exit, output) = TryRun(arguments);
        return exit == 0 ? output : throw new InvalidOperationException($"podman {string.Join(' ', arguments)} failed ({exit}): {output.Trim()}");
    }

    /// <summary>Removes containers whose test process is gone (a run killed before it could clean up).</summary>
    private static void SweepOrphans()
    {
        var listed = Run("ps", "-a", "--filter", $"label={OwnerLabel}", "--format", "{{.Names}} {{index .Labels \"" + OwnerLabel + "\"}}");
        foreach (var line in listed.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = line.Split(' ');
            if (parts.Length == 2 && !OwnerProcess.IsAlive(parts[1]))
            {
                TryRun("rm", "-f", "-v", parts[0]);
            }
        }
    }

    /// <summary>Containers of one test, named after it, and the host directories they share.</summary>
    public sealed class Pod : IAsyncDisposable
    {
        private readonly string _name = "fleet-ct-" + Guid.NewGuid().ToString("N")[..8];
        private readonly string _root;
        private readonly List<string> _containers = [];

        private Pod(string root) => _root = root;

        public static Pod Create()
        {
            SweepOrphans();
            return new Pod(System.IO.Directory.CreateTempSubdirectory("fleet-ct-").FullName);
        }

        /// <summary>A host directory for volumes, owned by the images' postgres user.</summary>
        public string Directory(string name)
        {
            var path = Path.Combine(_root, name);
            if (!System.IO.Directory.Exists(path))
            {
                System.IO.Directory.CreateDirectory(path);
                ExternalCommand.Run("chown", PostgresUser, path);
            }

            return path;
        }

        /// <summary>Starts a container on the host network (detached); throws with podman's words when it cannot.</summary>
        public void Run(string name, string image, string[] options, string[]? arguments = null)
        {
            var container = $"{_name}-{name}";
            _containers.Add(container);
            Podman.Run(["run", "-d", "--name", container, "--network", "host", "--label", $"{OwnerLabel}={OwnerProcess.Current}", .. options, image, .. arguments ?? []]);
        }

        /// <summary>Runs the image's HEALTHCHECK now: exit code 0 when healthy, and what podman said.</summary>
        public (int ExitCode, string Output) HealthCheck(string name) => TryRun("healthcheck", "run", $"{_name}-{name}");

        /// <summary>The last lines each container wrote, for a failure message.</summary>
        public string Logs() => string.Join("\n", _containers.Select(c => $"--- {c}:\n{TryRun("logs", "--tail", "30", c).Output}"));

        public ValueTask DisposeAsync()
        {
            foreach (var container in _containers)
            {
                TryRun("rm", "-f", "-v", container);
            }

            System.IO.Directory.Delete(_root, recursive: true);
            return ValueTask.CompletedTask;
        }
    }
}
