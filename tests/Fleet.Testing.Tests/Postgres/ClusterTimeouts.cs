using Fleet.LocalFleet.Postgres;

namespace Fleet.Testing.Tests.Postgres;

/// <summary>Budgets for cluster-level awaits, which take longer than <see cref="TestTimeouts.Default"/> on a busy 2-core machine.</summary>
internal static class ClusterTimeouts
{
    public static readonly TimeSpan Start = TimeSpan.FromSeconds(120);

    public static readonly TimeSpan Teardown = TimeSpan.FromSeconds(60);

    /// <summary>Replication and archiving conditions polled after an action.</summary>
    public static readonly TimeSpan Condition = TimeSpan.FromSeconds(30);

    public static Task<LocalPostgresCluster> StartClusterAsync(PostgresClusterOptions options) =>
        LocalPostgresCluster.StartAsync(options).WaitAsync(Start);
}
