using Fleet.Protos.V1;

namespace Fleet.Aggregator.Health;

/// <summary>
/// The little a node's rules need to remember between reports, fed by fresh snapshots only:
/// deadlock counter samples for the one-hour window, and the WAL position at the last archival the
/// aggregator saw (to tell "archiving stuck" from "nothing to archive"). Fixed size, no allocation
/// after the first sample. Not thread-safe: the <see cref="AlertTracker"/> owns it under its lock.
/// </summary>
public sealed class NodeHistory
{
    /// <summary>Deadlocks are counted over this window.</summary>
    public static readonly TimeSpan DeadlockWindow = TimeSpan.FromHours(1);

    private static readonly TimeSpan SampleSpacing = TimeSpan.FromMinutes(1);
    private const int Capacity = 64;

    private DateTimeOffset[]? _sampleTimes;
    private ulong[]? _sampleTotals;
    private int _first;
    private int _count;
    private ulong _latestDeadlocks;

    private bool _hasArchive;
    private ulong _archivedCount;
    private ulong _positionAtArchive;
    private ulong _position;

    /// <summary>True when the WAL position moved since the aggregator last saw archived_count change.</summary>
    public bool WalWrittenSinceLastArchive => _hasArchive && _position != 0 && _position != _positionAtArchive;

    /// <summary>Records a fresh snapshot taken at <paramref name="now"/>.</summary>
    public void Observe(NodeSnapshot snapshot, DateTimeOffset now)
    {
        if (snapshot.PostgresState != PostgresState.Up)
        {
            return;
        }

        ObservePosition(snapshot);
        var databases = snapshot.Databases;
        if (databases.Count > 0)
        {
            ulong total = 0;
            for (var i = 0; i < databases.Count; i++)
            {
                total += databases[i].Deadlocks;
            }

            ObserveDeadlocks(total, now);
        }
    }

    /// <summary>Deadlocks since the oldest sample inside the window (at most one hour); false before any sample.</summary>
    public bool TryGetDeadlocksInWindow(out double count)
    {
        if (_count == 0)
        {
            count = 0;
            return false;
        }

        count = _latestDeadlocks - _sampleTotals![_first];
        return true;
    }

    private void ObservePosition(NodeSnapshot snapshot)
    {
        var position = snapshot.Primary?.CurrentLsn ?? 0;
        if (position == 0 && snapshot.Replica is { } replica)
        {
            position = replica.ReceiveLsn != 0 ? replica.ReceiveLsn : replica.ReplayLsn;
        }

        _position = position;
        if (snapshot.Archiver is { } archiver && (!_hasArchive || archiver.ArchivedCount != _archivedCount))
        {
            _hasArchive = true;
            _archivedCount = archiver.ArchivedCount;
            _positionAtArchive = position;
        }
    }

    private void ObserveDeadlocks(ulong total, DateTimeOffset now)
    {
        _sampleTimes ??= new DateTimeOffset[Capacity];
        _sampleTotals ??= new ulong[Capacity];
        if (_count > 0 && total < _latestDeadlocks)
        {
            _count = 0; // statistics reset or a database dropped: start a new window
        }

        _latestDeadlocks = total;
        while (_count > 0 && now - _sampleTimes[_first] > DeadlockWindow)
        {
            _first = (_first + 1) % Capacity;
            _count--;
        }

        if (_count > 0 && now - _sampleTimes[(_first + _count - 1) % Capacity] < SampleSpacing)
        {
            return;
        }

        if (_count == Capacity)
        {
            _first = (_first + 1) % Capacity;
            _count--;
        }

        var slot = (_first + _count) % Capacity;
        _sampleTimes[slot] = now;
        _sampleTotals[slot] = total;
        _count++;
    }
}
