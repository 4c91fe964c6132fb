using System.Reflection;
using Fleet.Protos.V1;
using Google.Protobuf.WellKnownTypes;

namespace Fleet.Agent.State;

/// <summary>
/// The agent's own mutable facts (link state, fencing, epochs), shared by the link client, the APIs and
/// the role checks. Each read returns a consistent copy.
/// </summary>
public sealed class AgentState
{
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly AggregatorLink _link;

    private readonly Actions.EpochStore? _epochs;

    public AgentState(TimeProvider time, bool linkConfigured, string linkAddress, Actions.EpochStore? epochs = null)
    {
        _time = time;
        _epochs = epochs;
        HighestEpochSeen = epochs?.Highest ?? 0;
        StartedAt = time.GetUtcNow();
        _link = new AggregatorLink
        {
            State = linkConfigured ? LinkState.Connecting : LinkState.Disabled,
            Address = linkAddress,
            StateSince = Timestamp.FromDateTimeOffset(StartedAt),
        };
    }

    /// <summary>Random per process start; scopes report sequence numbers.</summary>
    public string InstanceId { get; } = Guid.NewGuid().ToString("N");

    public DateTimeOffset StartedAt { get; }

    public static string Version { get; } =
        typeof(AgentState).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    public bool Fenced { get; private set; }

    public ulong HighestEpochSeen { get; private set; }

    public long LinkReconnects { get; private set; }

    public AggregatorLink Link
    {
        get
        {
            lock (_lock)
            {
                return _link.Clone();
            }
        }
    }

    public void SetLinkState(LinkState state, string? error = null, string? aggregatorId = null)
    {
        lock (_lock)
        {
            if (_link.State != state)
            {
                _link.StateSince = Timestamp.FromDateTimeOffset(_time.GetUtcNow());
                if (state == LinkState.Connected && _link.AggregatorId.Length > 0)
                {
                    LinkReconnects++;
                }
            }

            _link.State = state;
            if (error is not null)
            {
                _link.LastError = error;
            }

            if (aggregatorId is not null)
            {
                _link.AggregatorId = aggregatorId;
            }
        }
    }

    public void SetLinkAddress(string address)
    {
        lock (_lock)
        {
            _link.Address = address;
        }
    }

    private ulong _reportSequence;

    /// <summary>Report sequence numbers are per agent process (instance id), not per stream.</summary>
    public ulong NextReportSequence() => Interlocked.Increment(ref _reportSequence);

    public void RecordReportSent(ulong sequence)
    {
        lock (_lock)
        {
            _link.LastReportSequence = sequence;
        }
    }

    /// <summary>
    /// Postgres must stay down: it was fenced by stopping it, or its postmaster died while it was primary.
    /// If something restarts it anyway, the agent stops it again. Cleared by Promote and Rejoin.
    /// </summary>
    public bool KeepDown { get; private set; }

    /// <summary>Lets an action start Postgres again (Rejoin, Promote) without the keep-down guard stopping it.</summary>
    public void AllowStart()
    {
        lock (_lock)
        {
            KeepDown = false;
        }
    }

    public void SetFenced(bool fenced, bool keepDown = false)
    {
        lock (_lock)
        {
            Fenced = fenced;
            KeepDown = fenced && keepDown;
        }
    }

    /// <summary>
    /// Raises the highest epoch seen, persisting it first when a store is configured; returns false (and
    /// changes nothing) for an older epoch.
    /// </summary>
    public bool ObserveEpoch(ulong epoch)
    {
        lock (_lock)
        {
            if (epoch < HighestEpochSeen || (_epochs is not null && !_epochs.Observe(epoch)))
            {
                return false;
            }

            HighestEpochSeen = epoch;
            return true;
        }
    }
}
