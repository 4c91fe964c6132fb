using System.Globalization;
using Fleet.Protos.V1;
using Google.Protobuf.WellKnownTypes;

namespace Fleet.Aggregator.Health;

public sealed partial class AlertTracker
{
    /// <summary>Active (pending and firing) alerts.</summary>
    public int ActiveCount
    {
        get
        {
            lock (_gate)
            {
                var count = 0;
                foreach (var node in _nodes.Values)
                {
                    count += node.Alerts.Count;
                }

                return count;
            }
        }
    }

    /// <summary>Pending and firing alerts, most severe first, then oldest first.</summary>
    public IReadOnlyList<Alert> GetActiveAlerts() => ListAlerts(new ListAlertsRequest());

    /// <summary>The most recently resolved alerts (bounded), newest first.</summary>
    public IReadOnlyList<Alert> GetRecentlyResolved()
    {
        var result = new List<Alert>();
        lock (_gate)
        {
            _resolved.CopyNewestFirst(result);
        }

        return result;
    }

    /// <summary>
    /// FleetService.ListAlerts: state UNSPECIFIED means pending and firing, RESOLVED the recently
    /// resolved ones; empty filters match everything. Most severe first, then oldest first.
    /// </summary>
    public IReadOnlyList<Alert> ListAlerts(ListAlertsRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var result = new List<Alert>();
        bool Matches(string cluster, string node, Severity severity) =>
            (request.Cluster.Length == 0 || request.Cluster == cluster)
            && (request.Node.Length == 0 || request.Node == node)
            && severity >= request.MinSeverity;

        lock (_gate)
        {
            if (request.State == AlertState.Resolved)
            {
                _resolved.CopyNewestFirst(result, a => Matches(a.Cluster, a.Node, a.Severity));
            }
            else
            {
                IEnumerable<TrackedNode> nodes = request.Cluster.Length == 0 ? _nodes.Values
                    : _byCluster.TryGetValue(request.Cluster, out var members) ? members : [];
                foreach (var node in nodes)
                {
                    foreach (var alert in node.Alerts)
                    {
                        if ((request.State == AlertState.Unspecified || request.State == alert.State)
                            && Matches(node.Cluster, node.Node, alert.Rule.Definition.Severity))
                        {
                            result.Add(ToAlert(node, alert, null));
                        }
                    }
                }
            }
        }

        result.Sort(static (a, b) =>
        {
            var bySeverity = b.Severity.CompareTo(a.Severity);
            if (bySeverity != 0)
            {
                return bySeverity;
            }

            var byAge = a.PendingSince.CompareTo(b.PendingSince);
            return byAge != 0 ? byAge : string.CompareOrdinal(a.Id, b.Id);
        });
        return result;
    }

    /// <summary>
    /// Node.health and health_reasons: UNKNOWN when the tracker has no fresh data for the node (never
    /// evaluated, agent stale or disconnected), else the highest severity among FIRING alerts.
    /// Pending alerts do not change health.
    /// </summary>
    public NodeHealthSummary GetNodeHealth(string cluster, string node)
    {
        lock (_gate)
        {
            if (!_nodes.TryGetValue((cluster, node), out var tracked) || !tracked.Evaluated)
            {
                return new NodeHealthSummary(HealthLevel.Unknown, ["not evaluated yet"]);
            }

            var reasons = new List<string>();
            var worst = Severity.Unspecified;
            foreach (var alert in tracked.Alerts)
            {
                if (alert.State != AlertState.Firing)
                {
                    continue;
                }

                reasons.Add(alert.Subject.Length > 0 ? $"{alert.Rule.Name} ({alert.Subject})" : alert.Rule.Name);
                worst = (Severity)Math.Max((int)worst, (int)alert.Rule.Definition.Severity);
            }

            if (tracked.Stale)
            {
                reasons.Insert(0, "no fresh data from the agent");
                return new NodeHealthSummary(HealthLevel.Unknown, reasons);
            }

            var level = worst switch
            {
                Severity.Critical => HealthLevel.Critical,
                Severity.Warning => HealthLevel.Warning,
                _ => HealthLevel.Ok,
            };
            return new NodeHealthSummary(level, reasons);
        }
    }

    /// <summary>A node left the fleet: resolves all its alerts and forgets it.</summary>
    public IReadOnlyList<AlertTransition> RemoveNode(string cluster, string node, DateTimeOffset now)
    {
        List<AlertTransition>? output = null;
        lock (_gate)
        {
            if (_nodes.Remove((cluster, node), out var tracked))
            {
                RemoveFromCluster(tracked);
                for (var i = tracked.Alerts.Count - 1; i >= 0; i--)
                {
                    Resolve(tracked, i, now, "the node was removed from the fleet", ref output);
                }
            }
        }

        return output ?? (IReadOnlyList<AlertTransition>)[];
    }

    /// <summary>
    /// Applies reloaded rules: alerts of rules no longer enabled are resolved; the others keep their
    /// id and state and use the new threshold, severity and duration from the next evaluation on.
    /// </summary>
    public IReadOnlyList<AlertTransition> ReplaceRules(AlertRuleSet rules, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(rules);
        List<AlertTransition>? output = null;
        lock (_gate)
        {
            _rules = rules;
            foreach (var node in _nodes.Values)
            {
                for (var i = node.Alerts.Count - 1; i >= 0; i--)
                {
                    var alert = node.Alerts[i];
                    if (rules.Find(alert.Rule.Name) is { } replacement)
                    {
                        alert.Rule = replacement;
                    }
                    else
                    {
                        Resolve(node, i, now, $"rule {alert.Rule.Name} was disabled by configuration", ref output);
                    }
                }
            }
        }

        return output ?? (IReadOnlyList<AlertTransition>)[];
    }

    /// <summary>
    /// Takes back pending and firing alerts persisted before a restart, keeping their ids and times, so
    /// they resolve (or keep firing) instead of being duplicated. Alerts of unknown or disabled rules,
    /// or with ids not made by this tracker, are skipped. Raises <see cref="NextSequence"/> past every
    /// restored id. Returns how many were restored.
    /// </summary>
    public int Restore(IEnumerable<Alert> alerts)
    {
        ArgumentNullException.ThrowIfNull(alerts);
        var restored = 0;
        lock (_gate)
        {
            foreach (var alert in alerts)
            {
                if (alert.State is not (AlertState.Pending or AlertState.Firing) || _rules.Find(alert.Rule) is not { } rule
                    || !TryParseId(alert, out var subject, out var sequence))
                {
                    continue;
                }

                var key = (alert.Cluster, alert.Node);
                if (!_nodes.TryGetValue(key, out var node))
                {
                    node = new TrackedNode(alert.Cluster, alert.Node);
                    AddNode(key, node);
                }

                if (node.Find(rule, subject) >= 0)
                {
                    continue;
                }

                node.Alerts.Add(new TrackedAlert(rule, subject, sequence, alert.Id)
                {
                    State = alert.State,
                    PendingSince = alert.PendingSince?.ToDateTimeOffset() ?? DateTimeOffset.UnixEpoch,
                    FiringSince = alert.State == AlertState.Firing ? alert.FiringSince?.ToDateTimeOffset() ?? alert.PendingSince?.ToDateTimeOffset() : null,
                    Last = new RuleObservation(subject, ConditionState.Holds, alert.HasValue ? alert.Value : null),
                    RestoredMessage = alert.Message,
                });
                _nextSequence = Math.Max(_nextSequence, sequence + 1);
                restored++;
            }
        }

        return restored;
    }

    /// <summary>
    /// Takes over the active alerts another aggregator stored while it led (a shared store, after a
    /// leadership change). A stored alert this tracker also holds (same rule, node and subject) replaces
    /// the tracker's own under the stored id and start time, so one incident keeps one id across leaders
    /// (this tracker's own ids stay in its own block: the next sequence is not raised).
    /// A stored alert this tracker does not hold no longer holds here: it is returned RESOLVED at
    /// <paramref name="now"/> for the caller to store. Alerts of unknown rules or foreign ids are left alone.
    /// </summary>
    public IReadOnlyList<Alert> Adopt(IEnumerable<Alert> stored, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(stored);
        var resolved = new List<Alert>();
        lock (_gate)
        {
            foreach (var alert in stored)
            {
                if (alert.State is not (AlertState.Pending or AlertState.Firing) || _rules.Find(alert.Rule) is not { } rule
                    || !TryParseId(alert, out var subject, out var sequence))
                {
                    continue;
                }

                var index = _nodes.TryGetValue((alert.Cluster, alert.Node), out var node) ? node.Find(rule, subject) : -1;
                if (index < 0)
                {
                    var ended = alert.Clone();
                    ended.State = AlertState.Resolved;
                    ended.ResolvedAt = Timestamp.FromDateTimeOffset(now);
                    resolved.Add(ended);
                    continue;
                }

                var mine = node!.Alerts[index];
                if (mine.Id == alert.Id)
                {
                    continue;
                }

                var storedPending = alert.PendingSince?.ToDateTimeOffset() ?? mine.PendingSince;
                var storedFiring = alert.State == AlertState.Firing ? alert.FiringSince?.ToDateTimeOffset() ?? storedPending : (DateTimeOffset?)null;
                node.Alerts[index] = new TrackedAlert(rule, subject, sequence, alert.Id)
                {
                    State = storedFiring is not null ? AlertState.Firing : mine.State,
                    PendingSince = storedPending < mine.PendingSince ? storedPending : mine.PendingSince,
                    FiringSince = storedFiring ?? mine.FiringSince,
                    Last = mine.Last,
                    Seen = mine.Seen,
                };
            }
        }

        return resolved;
    }

    /// <summary>Reads the subject and sequence out of an id this tracker made ("rule/cluster/node[/subject]/sequence").</summary>
    internal static bool TryParseId(Alert alert, out string subject, out ulong sequence)
    {
        subject = string.Empty;
        sequence = 0;
        var prefix = $"{alert.Rule}/{alert.Cluster}/{alert.Node}/";
        if (!alert.Id.StartsWith(prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var rest = alert.Id.AsSpan(prefix.Length);
        var slash = rest.LastIndexOf('/');
        if (!ulong.TryParse(rest[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out sequence))
        {
            return false;
        }

        subject = slash < 0 ? string.Empty : rest[..slash].ToString();
        return true;
    }
}
