using Fleet.Protos.V1;
using Google.Protobuf.WellKnownTypes;

namespace Fleet.Aggregator.Health;

/// <summary>
/// The alert lifecycle. Per (rule, cluster, node, subject): inactive → PENDING when the condition first
/// holds → FIRING once it held for the rule's For (at once when For is 0) → RESOLVED when it stops
/// holding. A pending alert that clears is RESOLVED too, with firing_since unset. An alert that comes
/// back after resolving is a new alert with a new id. Every change is returned as an
/// <see cref="AlertTransition"/>; the tracker itself does no I/O and reads no clock.
/// <para>
/// Stale data: when the agent is disconnected or silent longer than staleAfter, only rules about the
/// agent itself (agent_silent) run; every other alert of the node is frozen — neither advanced to
/// FIRING nor resolved — until fresh data arrives. The same holds per rule when a snapshot lacks the
/// data the rule needs (e.g. Postgres down: no connection counts).
/// </para>
/// <para>
/// Thread-safe (one lock, held for one node's evaluation: microseconds, no allocation when nothing
/// changes). Ingest calls <see cref="Evaluate(in NodeHealthInput, DateTimeOffset)"/> per report; a
/// periodic sweep calls <see cref="EvaluateAll"/> so silent agents are noticed.
/// </para>
/// </summary>
public sealed partial class AlertTracker
{
    public const int DefaultResolvedCapacity = 1000;

    /// <summary>Matches Link:StaleAfter's default.</summary>
    public static readonly TimeSpan DefaultStaleAfter = TimeSpan.FromSeconds(5);

    private readonly Lock _gate = new();
    private readonly Dictionary<(string Cluster, string Node), TrackedNode> _nodes = [];

    // Cluster → its tracked nodes, so ListAlerts for one cluster (built into every node view) does not scan the region.
    private readonly Dictionary<string, List<TrackedNode>> _byCluster = new(StringComparer.Ordinal);
    private readonly List<RuleObservation> _observations = new(32);
    private readonly ResolvedAlertBuffer _resolved;
    private readonly TimeSpan _staleAfter;
    private AlertRuleSet _rules;
    private ulong _nextSequence;
    private uint _generation;

    /// <param name="rules">The enabled rules.</param>
    /// <param name="firstSequence">Sequence of the first new alert; pass the stored <see cref="NextSequence"/> so ids stay unique across restarts.</param>
    /// <param name="staleAfter">A node silent (or disconnected) this long has stale data; default 5 s (Link:StaleAfter).</param>
    /// <param name="resolvedCapacity">How many resolved alerts to keep for display.</param>
    public AlertTracker(AlertRuleSet rules, ulong firstSequence = 1, TimeSpan? staleAfter = null, int resolvedCapacity = DefaultResolvedCapacity)
    {
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(resolvedCapacity);
        _rules = rules;
        _nextSequence = Math.Max(1, firstSequence);
        _staleAfter = staleAfter ?? DefaultStaleAfter;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(_staleAfter, TimeSpan.Zero, nameof(staleAfter));
        _resolved = new ResolvedAlertBuffer(resolvedCapacity);
    }

    /// <summary>The sequence the next new alert will get; persist it (or the highest transition Sequence + 1).</summary>
    public ulong NextSequence
    {
        get
        {
            lock (_gate)
            {
                return _nextSequence;
            }
        }
    }

    public AlertRuleSet Rules
    {
        get
        {
            lock (_gate)
            {
                return _rules;
            }
        }
    }

    /// <summary>Evaluates one node; returns its transitions (an empty, shared list when nothing changed).</summary>
    public IReadOnlyList<AlertTransition> Evaluate(in NodeHealthInput input, DateTimeOffset now)
    {
        List<AlertTransition>? output = null;
        lock (_gate)
        {
            EvaluateLocked(input, now, ref output);
        }

        return output ?? (IReadOnlyList<AlertTransition>)[];
    }

    /// <summary>Evaluates one node and appends its transitions to <paramref name="transitions"/>; returns how many.</summary>
    public int Evaluate(in NodeHealthInput input, DateTimeOffset now, List<AlertTransition> transitions)
    {
        ArgumentNullException.ThrowIfNull(transitions);
        var before = transitions.Count;
        List<AlertTransition>? output = transitions;
        lock (_gate)
        {
            EvaluateLocked(input, now, ref output);
        }

        return transitions.Count - before;
    }

    /// <summary>The periodic sweep: evaluates every node, taking the lock once per node so ingest is never held up long.</summary>
    public IReadOnlyList<AlertTransition> EvaluateAll(IReadOnlyList<NodeHealthInput> inputs, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        List<AlertTransition>? output = null;
        for (var i = 0; i < inputs.Count; i++)
        {
            lock (_gate)
            {
                EvaluateLocked(inputs[i], now, ref output);
            }
        }

        return output ?? (IReadOnlyList<AlertTransition>)[];
    }

    private void EvaluateLocked(in NodeHealthInput input, DateTimeOffset now, ref List<AlertTransition>? output)
    {
        var key = (input.Cluster, input.Node);
        if (!_nodes.TryGetValue(key, out var node))
        {
            node = new TrackedNode(input.Cluster, input.Node);
            AddNode(key, node);
        }
        else if (node.Evaluated)
        {
            if (input.LastReportAt < node.LastReportAt)
            {
                return; // an older view than one already evaluated (a sweep racing a fresh report)
            }

            if (now < node.LastEvaluatedAt)
            {
                now = node.LastEvaluatedAt; // time never runs backwards for one node
            }
        }

        node.Evaluated = true;
        node.LastReportAt = input.LastReportAt;
        node.LastEvaluatedAt = now;
        var stale = !input.AgentConnected || now - input.LastReportAt > _staleAfter;
        node.Stale = stale;
        if (!stale && input.Snapshot is { } snapshot)
        {
            node.History.Observe(snapshot, now);
        }

        var context = new RuleContext(input, now, node.History);
        foreach (var rule in _rules.RuleArray)
        {
            if (stale && rule.NeedsFreshData)
            {
                continue; // frozen: no decision from stale data
            }

            _observations.Clear();
            if (!rule.Evaluate(in context, _observations))
            {
                continue; // the data this rule needs is missing: frozen
            }

            var generation = ++_generation;
            for (var i = 0; i < _observations.Count; i++)
            {
                Apply(node, rule, _observations[i], generation, now, ref output);
            }

            ResolveUnobserved(node, rule, generation, now, ref output);
        }
    }

    private void AddNode((string Cluster, string Node) key, TrackedNode node)
    {
        _nodes.Add(key, node);
        if (!_byCluster.TryGetValue(key.Cluster, out var members))
        {
            members = [];
            _byCluster.Add(key.Cluster, members);
        }

        members.Add(node);
    }

    private void RemoveFromCluster(TrackedNode node)
    {
        if (_byCluster.TryGetValue(node.Cluster, out var members))
        {
            members.Remove(node);
            if (members.Count == 0)
            {
                _byCluster.Remove(node.Cluster);
            }
        }
    }

    private void Apply(TrackedNode node, HealthRule rule, in RuleObservation observation, uint generation, DateTimeOffset now, ref List<AlertTransition>? output)
    {
        var index = node.Find(rule, observation.Subject);
        var alert = index >= 0 ? node.Alerts[index] : null;
        switch (observation.State)
        {
            case ConditionState.Unknown:
                if (alert is not null)
                {
                    alert.Seen = generation;
                }

                return;
            case ConditionState.Clear:
                if (alert is not null)
                {
                    Resolve(node, index, now, rule.Describe(observation), ref output);
                }

                return;
        }

        var holdFor = rule.Definition.For;
        if (alert is null)
        {
            var sequence = _nextSequence++;
            alert = new TrackedAlert(rule, observation.Subject, sequence, MakeId(rule.Name, node, observation.Subject, sequence))
            {
                PendingSince = now,
                Last = observation,
                Seen = generation,
            };
            node.Alerts.Add(alert);
            if (holdFor <= TimeSpan.Zero)
            {
                alert.State = AlertState.Firing;
                alert.FiringSince = now;
                Emit(ref output, node, alert, AlertState.Unspecified, null, now, $"{alert.Message}; fires at once (no hold duration)");
            }
            else
            {
                Emit(ref output, node, alert, AlertState.Unspecified, null, now, $"{alert.Message}; fires if it holds for {AlertText.Duration(holdFor)}");
            }

            return;
        }

        alert.Last = observation;
        alert.Seen = generation;
        alert.RestoredMessage = null;
        if (alert.State == AlertState.Pending && now - alert.PendingSince >= holdFor)
        {
            alert.State = AlertState.Firing;
            alert.FiringSince = now;
            Emit(ref output, node, alert, AlertState.Pending, null, now,
                $"{alert.Message}; held for {AlertText.Duration(now - alert.PendingSince)} (for {AlertText.Duration(holdFor)})");
        }
    }

    /// <summary>Resolves this rule's alerts whose subject the evaluation no longer reported (a standby gone, a table out of the top list).</summary>
    private void ResolveUnobserved(TrackedNode node, HealthRule rule, uint generation, DateTimeOffset now, ref List<AlertTransition>? output)
    {
        var alerts = node.Alerts;
        for (var i = alerts.Count - 1; i >= 0; i--)
        {
            var alert = alerts[i];
            if (ReferenceEquals(alert.Rule, rule) && alert.Seen != generation)
            {
                var why = alert.Subject.Length > 0 ? $"{alert.Subject} is no longer reported" : "the condition is no longer reported";
                Resolve(node, i, now, why, ref output);
            }
        }
    }

    private void Resolve(TrackedNode node, int index, DateTimeOffset now, string clearedBecause, ref List<AlertTransition>? output)
    {
        var alert = node.Alerts[index];
        node.Alerts.RemoveAt(index);
        var reason = alert.FiringSince is { } firingSince
            ? $"resolved after firing for {AlertText.Duration(now - firingSince)}: {clearedBecause}"
            : $"cleared before firing (held {AlertText.Duration(now - alert.PendingSince)} of {AlertText.Duration(alert.Rule.Definition.For)}): {clearedBecause}";
        var from = alert.State;
        alert.State = AlertState.Resolved;
        var snapshot = Emit(ref output, node, alert, from, now, now, reason);
        _resolved.Add(snapshot.Clone());
    }

    private static Alert Emit(
        ref List<AlertTransition>? output, TrackedNode node, TrackedAlert alert, AlertState from, DateTimeOffset? resolvedAt, DateTimeOffset now, string reason)
    {
        var snapshot = ToAlert(node, alert, resolvedAt);
        (output ??= []).Add(new AlertTransition(snapshot, from, alert.State, reason, alert.Subject, alert.Sequence, now));
        return snapshot;
    }

    private static string MakeId(string rule, TrackedNode node, string subject, ulong sequence) =>
        subject.Length > 0 ? $"{rule}/{node.Cluster}/{node.Node}/{subject}/{sequence}" : $"{rule}/{node.Cluster}/{node.Node}/{sequence}";

    private static Alert ToAlert(TrackedNode node, TrackedAlert alert, DateTimeOffset? resolvedAt)
    {
        var definition = alert.Rule.Definition;
        var result = new Alert
        {
            Id = alert.Id,
            Rule = definition.Name,
            Severity = definition.Severity,
            State = alert.State,
            Cluster = node.Cluster,
            Node = node.Node,
            Unit = definition.UnitName,
            ForDuration = Duration.FromTimeSpan(definition.For),
            Message = alert.Message,
            PendingSince = Timestamp.FromDateTimeOffset(alert.PendingSince),
        };
        if (alert.Last.Value is { } value && double.IsFinite(value))
        {
            result.Value = value;
        }

        if (definition.Threshold is { } threshold)
        {
            result.Threshold = threshold;
        }

        if (alert.FiringSince is { } firingSince)
        {
            result.FiringSince = Timestamp.FromDateTimeOffset(firingSince);
        }

        if (resolvedAt is { } resolved)
        {
            result.ResolvedAt = Timestamp.FromDateTimeOffset(resolved);
        }

        return result;
    }
}
