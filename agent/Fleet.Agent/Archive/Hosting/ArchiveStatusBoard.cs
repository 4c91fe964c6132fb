using Fleet.Protos.V1;

namespace Fleet.Agent.Archive.Hosting;

/// <summary>
/// The latest archive verification, published by <see cref="ArchiveVerificationService"/> and read by
/// /metrics, the link reports (which carry a status once per new result) and AgentService.
/// </summary>
internal sealed class ArchiveStatusBoard
{
    private readonly Lock _lock = new();
    private ArchiveStatus? _current;
    private long _sequence;

    /// <summary>The latest status; null before the first verification.</summary>
    public ArchiveStatus? Current
    {
        get
        {
            lock (_lock)
            {
                return _current;
            }
        }
    }

    /// <summary>The latest status and its sequence number (1 for the first, +1 per result; 0 before any).</summary>
    public (long Sequence, ArchiveStatus? Status) Latest
    {
        get
        {
            lock (_lock)
            {
                return (_sequence, _current);
            }
        }
    }

    public void Publish(ArchiveStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        lock (_lock)
        {
            _current = status;
            _sequence++;
        }
    }
}
