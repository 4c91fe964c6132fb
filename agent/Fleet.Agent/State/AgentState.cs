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
    // One per configured aggregator endpoint, in configuration order (one "disabled" entry without any).
    private readonly AggregatorLink[] _links;

    private readonly Actions.EpochStore? _epochs;

    public AgentState(TimeProvider time, IReadOnlyList<string> endpoints, Actions.EpochStore? epochs = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        _time = time;
        _epochs = epochs;
        HighestEpochSeen = epochs?.Highest ?? 0;
        StartedAt = time.GetUtcNow();
        var since = Timestamp.FromDateTimeOffset(StartedAt);
        _links = endpoints.Count == 0
            ? [new AggregatorLink { State = LinkState.Disabled, StateSince = since }]
            : [.. endpoints.Distinct(StringComparer.Ordinal).Select(endpoint => new AggregatorLink { State = LinkState.Connecting, Address = endpoint, StateSince = since })];
    }

    /// <summary>Random per process start; scopes report sequence numbers.</summary>
    public string InstanceId { get; } = Guid.NewGuid().ToString("N");

    public DateTimeOffset StartedAt { get; }

    public static string Version { get; } =
        typeof(AgentState).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    public bool Fenced { get; private set; }

    public ulong HighestEpochSeen { get; private set; }

    public long LinkReconnects { get; private set; }

    /// <summary>
    /// The link that matters most: to the aggregator that said it leads, else the first connected one, else the
    /// first configured. Agents of a coordinated region link to every aggregator (<see cref="Links"/>).
    /// </summary>
    public AggregatorLink Link
    {
        get
        {
            lock (_lock)
            {
                var link = _links.FirstOrDefault(l => l is { State: LinkState.Connected, Leader: true })
                           ?? _links.FirstOrDefault(l => l.State == LinkState.Connected)
                           ?? _links[0];
                return link.Clone();
            }
        }
    }

    /// <summary>Every configured link, in configuration order.</summary>
    public IReadOnlyList<AggregatorLink> Links
    {
        get
        {
            lock (_lock)
            {
                return [.. _links.Select(l => l.Clone())];
            }
        }
    }

    public void SetLinkState(string endpoint, LinkState state, string? error = null, string? aggregatorId = null, bool? leader = null)
    {
        lock (_lock)
        {
            var link = Array.Find(_links, l => l.Address == endpoint) ?? throw new ArgumentException($"{endpoint} is not a configured aggregator endpoint", nameof(endpoint));
            if (link.State != state)
            {
                link.StateSince = Timestamp.FromDateTimeOffset(_time.GetUtcNow());
                if (state == LinkState.Connected && link.AggregatorId.Length > 0)
                {
                    LinkReconnects++;
                }
            }

            link.State = state;
            if (error is not null)
            {
                link.LastError = error;
            }

            if (aggregatorId is not null)
            {
                link.AggregatorId = aggregatorId;
            }

            link.Leader = state == LinkState.Connected && (leader ?? link.Leader);
        }
    }

    private ulong _reportSequence;

    /// <summary>Report sequence numbers are per agent process (instance id), not per stream.</summary>
    public ulong NextReportSequence() => Interlocked.Increment(ref _reportSequence);

    public void RecordReportSent(string endpoint, ulong sequence)
    {
        lock (_lock)
        {
            if (Array.Find(_links, l => l.Address == endpoint) is { } link)
            {
                link.LastReportSequence = sequence;
            }
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
