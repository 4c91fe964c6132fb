using System.Runtime.InteropServices;
using System.Runtime.Loader;

namespace Fleet.LocalFleet.Postgres;

/// <summary>
/// Clusters not yet disposed. When the test process exits, crashes with an unhandled exception, is
/// unloaded, or is signalled (SIGTERM, Ctrl+C, SIGHUP, SIGQUIT), every one of them is torn down, so an aborted
/// run leaves no postgres behind. A process killed with SIGKILL runs no hooks;
/// <see cref="StaleClusterSweeper"/> cleans up after it when the next cluster starts.
/// </summary>
internal static class LiveClusterRegistry
{
    private static readonly TimeSpan TeardownBudget = TimeSpan.FromSeconds(30);
    private static readonly Lock Gate = new();
    private static readonly HashSet<LocalPostgresCluster> Clusters = [];
    private static readonly List<PosixSignalRegistration> SignalRegistrations = [];
    private static bool hooksInstalled;

    public static void Add(LocalPostgresCluster cluster)
    {
        lock (Gate)
        {
            Clusters.Add(cluster);
            if (!hooksInstalled)
            {
                InstallHooks();
                hooksInstalled = true;
            }
        }
    }

    public static void Remove(LocalPostgresCluster cluster)
    {
        lock (Gate)
        {
            Clusters.Remove(cluster);
        }
    }

    private static void InstallHooks()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => TearDownAll();
        // A crash skips ProcessExit; this handler runs before the runtime aborts the process.
        AppDomain.CurrentDomain.UnhandledException += (_, _) => TearDownAll();
        var loadContext = AssemblyLoadContext.GetLoadContext(typeof(LiveClusterRegistry).Assembly);
        if (loadContext is not null)
        {
            loadContext.Unloading += _ => TearDownAll();
        }

        // Without a registration these signals end the process without raising ProcessExit (SIGTERM
        // included, measured on .NET 10). The handlers do not cancel, so the default termination follows.
        foreach (var signal in new[] { PosixSignal.SIGTERM, PosixSignal.SIGINT, PosixSignal.SIGHUP, PosixSignal.SIGQUIT })
        {
            SignalRegistrations.Add(PosixSignalRegistration.Create(signal, _ => TearDownAll()));
        }
    }

    private static void TearDownAll()
    {
        LocalPostgresCluster[] clusters;
        lock (Gate)
        {
            clusters = [.. Clusters];
        }

        if (clusters.Length == 0)
        {
            return;
        }

        try
        {
            // Blocking is the point here: the process must not finish exiting before the servers are gone.
            Task.WhenAll(clusters.Select(cluster => cluster.DisposeAsync().AsTask())).Wait(TeardownBudget);
        }
        catch (AggregateException)
        {
            // Nobody is left to report to; the next run's sweep removes what remains.
        }
    }
}
