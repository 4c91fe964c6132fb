namespace Fleet.LocalFleet.Postgres;

/// <summary>
/// Starts test clusters. <see cref="LocalPostgresClusterFactory"/> runs the installed server binaries and
/// is the only implementation today. A container-backed one (Testcontainers) would fit behind this
/// interface where a Docker engine exists, but it cannot run here: the build machines have no Docker
/// engine and the Testcontainers/Docker client packages are absent from the package registry we use.
/// </summary>
public interface IPostgresClusterFactory
{
    Task<IPostgresCluster> StartAsync(PostgresClusterOptions options, CancellationToken cancellationToken = default);
}

/// <summary>Starts clusters from local binaries; see <see cref="LocalPostgresCluster.StartAsync"/>.</summary>
public sealed class LocalPostgresClusterFactory : IPostgresClusterFactory
{
    public static LocalPostgresClusterFactory Instance { get; } = new();

    public async Task<IPostgresCluster> StartAsync(
        PostgresClusterOptions options, CancellationToken cancellationToken = default) =>
        await LocalPostgresCluster.StartAsync(options, cancellationToken);
}
