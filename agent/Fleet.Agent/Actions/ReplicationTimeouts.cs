using System.Globalization;
using Fleet.Agent.Collection;
using Fleet.Agent.Configuration;
using Fleet.Protos.V1;
using Microsoft.Extensions.Options;

namespace Fleet.Agent.Actions;

/// <summary>
/// The PostgreSQL settings that bound how long a silent primary goes unnoticed (docs/failover.md,
/// "Detection"), and what to change. Pure. With the defaults (wal_receiver_timeout 60 s) a replica of a
/// frozen or partitioned primary keeps saying "streaming" for a minute, since no RST ever arrives.
/// </summary>
public static class ReplicationTimeouts
{
    /// <summary>A replica reports to its primary every second, so the primary sees a lost one within the timeout.</summary>
    public const long StatusIntervalSeconds = 1;

    /// <summary>A replica whose receiver stopped retries after one second (default 5 s), so a short blip costs little.</summary>
    public const long RetrieveRetryMilliseconds = 1000;

    public static readonly IReadOnlyList<string> Names =
        ["wal_sender_timeout", "wal_receiver_timeout", "wal_receiver_status_interval", "wal_retrieve_retry_interval"];

    /// <summary>The wanted values in pg_settings' base units (ms, ms, s, ms).</summary>
    public static IReadOnlyDictionary<string, long> Wanted(TimeSpan replicationTimeout)
    {
        var ms = (long)replicationTimeout.TotalMilliseconds;
        return new Dictionary<string, long>(StringComparer.Ordinal)
        {
            ["wal_sender_timeout"] = ms,
            ["wal_receiver_timeout"] = ms,
            ["wal_receiver_status_interval"] = StatusIntervalSeconds,
            ["wal_retrieve_retry_interval"] = RetrieveRetryMilliseconds,
        };
    }

    /// <summary>The settings that differ, formatted for ALTER SYSTEM.</summary>
    public static List<(string Name, string Value)> Changes(IReadOnlyDictionary<string, long> wanted, IReadOnlyDictionary<string, long> current) =>
        [.. wanted.Where(w => !current.TryGetValue(w.Key, out var value) || value != w.Value)
            .Select(w => (w.Key, Format(w.Key, w.Value)))];

    /// <summary>
    /// Why detection would be slower than wanted when Fleet does not manage the settings; null when fine.
    /// Only the two timeouts matter for safety and speed; 0 disables a timeout, which is the worst.
    /// </summary>
    public static string? Problem(TimeSpan replicationTimeout, IReadOnlyDictionary<string, long> current)
    {
        var limit = (long)replicationTimeout.TotalMilliseconds;
        var slow = new List<string>();
        foreach (var name in (string[])["wal_receiver_timeout", "wal_sender_timeout"])
        {
            if (current.TryGetValue(name, out var value) && (value == 0 || value > limit))
            {
                slow.Add(value == 0 ? $"{name} is 0 (disabled)" : $"{name} is {value} ms");
            }
        }

        return slow.Count == 0
            ? null
            : $"{string.Join(", ", slow)}, longer than the aggregator's replication timeout of {limit} ms: a silent primary is noticed that much later (set them, or let the agent: Postgres:ManageReplicationTimeouts)";
    }

    private static string Format(string name, long value) =>
        name == "wal_receiver_status_interval"
            ? value.ToString(CultureInfo.InvariantCulture) + "s"
            : value.ToString(CultureInfo.InvariantCulture) + "ms";
}

/// <summary>
/// Keeps the replication timeouts of the local PostgreSQL where the aggregator's detection settings want
/// them: checks when a Welcome brings them and every <see cref="CheckInterval"/> (an operator's ALTER
/// SYSTEM or a pg_rewind may change them), sets them with ALTER SYSTEM and a reload when
/// Postgres:ManageReplicationTimeouts is on (default), else only reports a problem. Every setting involved
/// is reloadable: no restart.
/// </summary>
internal sealed class ReplicationTimeoutsLoop(
    DetectionTiming detection, DetectionProblem problem, PostgresActions actions, SnapshotBoard board,
    IOptions<AgentOptions> options, ILogger<ReplicationTimeoutsLoop> logger) : BackgroundService
{
    public static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(30);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var wake = new SemaphoreSlim(0, 1);
        detection.Changed += () =>
        {
            try
            {
                wake.Release();
            }
            catch (SemaphoreFullException)
            {
                // A wake-up is pending already.
            }
        };

        while (!stoppingToken.IsCancellationRequested)
        {
            if (detection.ReplicationTimeout is { } timeout && board.Current is { PostgresState: PostgresState.Up })
            {
                await CheckAsync(timeout, stoppingToken);
            }

            // A check before PostgreSQL is up is retried soon; otherwise every CheckInterval or on a new Welcome.
            var next = board.Current is { PostgresState: PostgresState.Up } ? CheckInterval : TimeSpan.FromSeconds(2);
            await wake.WaitAsync(next, stoppingToken);
        }
    }

    private async Task CheckAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            var current = await actions.ReadSettingsAsync(ReplicationTimeouts.Names, cancellationToken);
            if (!options.Value.Postgres.ManageReplicationTimeouts)
            {
                Report(ReplicationTimeouts.Problem(timeout, current));
                return;
            }

            var changes = ReplicationTimeouts.Changes(ReplicationTimeouts.Wanted(timeout), current);
            if (changes.Count > 0)
            {
                await actions.AlterSystemAsync(changes, cancellationToken);
                ActionLog.ReplicationTimeoutsApplied(logger, string.Join(", ", changes.Select(c => $"{c.Name} = {c.Value}")));
            }

            Report(null);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Report($"could not check or set the replication timeouts: {PostgresFailure.Short(ex.Message)}");
        }
    }

    private void Report(string? text)
    {
        if (problem.Set(text) && text is not null)
        {
            ActionLog.DetectionProblem(logger, text);
        }
    }
}
