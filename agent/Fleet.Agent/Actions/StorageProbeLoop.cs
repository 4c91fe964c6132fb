using Fleet.Agent.Collection;
using Fleet.Agent.Configuration;
using Microsoft.Extensions.Options;

namespace Fleet.Agent.Actions;

/// <summary>
/// Probes the node's storage every <see cref="Interval"/> (<see cref="StorageProbe"/>) and records the
/// outstanding write in <see cref="StorageHealth"/>, which turns one outstanding past
/// Postgres:StorageStallTimeout into a stall. Logs the start and end of a stall and a failing probe once.
/// Off when Postgres:DataDirectory is not set or the timeout is zero; waits for the directory to exist.
/// </summary>
internal sealed class StorageProbeLoop(StorageHealth health, IOptions<AgentOptions> options, TimeProvider time, ILogger<StorageProbeLoop> logger)
    : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var dataDirectory = options.Value.Postgres.DataDirectory;
        if (string.IsNullOrEmpty(dataDirectory) || health.StallTimeout <= TimeSpan.Zero)
        {
            return;
        }

        StorageProbe? probe = null;
        using var timer = new PeriodicTimer(Interval, time);
        var stalled = false;
        string? failure = null;
        do
        {
            // The data directory may appear after the agent starts (a volume mounted late, a replica being cloned):
            // the files to probe, pg_wal's link included, are worked out once it is there.
            if (probe is null)
            {
                if (!Directory.Exists(dataDirectory))
                {
                    continue;
                }

                probe = new StorageProbe(StorageProbe.FilesFor(dataDirectory), time);
            }

            var outcome = await probe.ProbeAsync(Interval * 0.9, stoppingToken);
            health.Record(probe.OutstandingSince, probe.CurrentFile);
            if (!stalled && health.StalledFor() is var stalledFor && stalledFor > TimeSpan.Zero)
            {
                stalled = true;
                ActionLog.StorageStalled(logger, probe.CurrentFile, (long)stalledFor.TotalMilliseconds);
            }
            else if (stalled && outcome != StorageOutcome.Pending)
            {
                stalled = false;
                ActionLog.StorageResumed(logger);
            }

            if (outcome == StorageOutcome.Failed && probe.LastError != failure)
            {
                failure = probe.LastError;
                ActionLog.StorageProbeFailed(logger, failure ?? string.Empty);
            }
            else if (outcome == StorageOutcome.Written)
            {
                failure = null;
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
