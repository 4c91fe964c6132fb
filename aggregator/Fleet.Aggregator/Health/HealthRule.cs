using System.Globalization;

namespace Fleet.Aggregator.Health;

/// <summary>
/// One alert rule. Stateless and reused for every node: <see cref="Evaluate"/> reads one node's view
/// and appends observations; it returns false when the data it needs is missing (Postgres not up, a
/// section not collected), in which case the rule's alerts for that node keep their state.
/// </summary>
public abstract class HealthRule
{
    private protected HealthRule(AlertRuleDefinition definition)
    {
        Definition = definition;
    }

    public AlertRuleDefinition Definition { get; }

    public string Name => Definition.Name;

    /// <summary>False only for rules about the agent itself (agent_silent), evaluated on stale nodes too.</summary>
    public virtual bool NeedsFreshData => true;

    /// <summary>Appends this node's observations; false when the rule cannot be evaluated now.</summary>
    public abstract bool Evaluate(in RuleContext context, List<RuleObservation> observations);

    /// <summary>A sentence for one observation, e.g. "standby orders-db-2 replay lag 12.3 s > 5 s".</summary>
    public abstract string Describe(in RuleObservation observation);

    private protected static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>A ratio 0..1 as a percentage, rounded so 0.95 compares equal to 95.</summary>
    private protected static double Percent(double ratio) => Math.Round(ratio * 100, 9);

    private protected static double Percent(ulong part, ulong whole) => Math.Round(100.0 * part / whole, 9);

    /// <summary>A value with its unit: "12.3 s", "87.5 %", "6/h".</summary>
    private protected static string FormatValue(double value, RuleUnit unit) => unit switch
    {
        RuleUnit.Seconds => Invariant($"{value:0.#} s"),
        RuleUnit.Percent => Invariant($"{value:0.##} %"),
        RuleUnit.PerHour => Invariant($"{value:0.#}/h"),
        _ => Invariant($"{value:0.##}"),
    };
}
