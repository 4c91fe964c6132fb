using Fleet.Protos.V1;

namespace Fleet.Aggregator.Health.Rules;

/// <summary>
/// A rule comparing one value per subject with the threshold: above it (or below it, for ratios where
/// lower is worse) the condition holds; exactly at the threshold it does not.
/// </summary>
internal abstract class ThresholdRule : HealthRule
{
    private readonly double _threshold;
    private readonly bool _lowerIsWorse;

    protected ThresholdRule(AlertRuleDefinition definition, bool lowerIsWorse = false)
        : base(definition)
    {
        _threshold = definition.Threshold ?? throw new ArgumentException($"Rule {definition.Name} needs a threshold.", nameof(definition));
        _lowerIsWorse = lowerIsWorse;
    }

    protected double Threshold => _threshold;

    protected RuleObservation Observe(string subject, double value, string? detail = null, string? note = null)
    {
        var holds = _lowerIsWorse ? value < _threshold : value > _threshold;
        return new RuleObservation(subject, holds ? ConditionState.Holds : ConditionState.Clear, value, detail, note);
    }

    public override string Describe(in RuleObservation observation)
    {
        var value = observation.Value is { } v ? FormatValue(v, Definition.Unit) : "unknown";
        var op = (observation.State == ConditionState.Holds, _lowerIsWorse) switch
        {
            (true, false) => ">",
            (true, true) => "<",
            (false, false) => "<=",
            (false, true) => ">=",
        };
        var sentence = $"{Label(observation)} {value} {op} {FormatValue(_threshold, Definition.Unit)}";
        return Suffix(observation) is { } suffix ? $"{sentence} ({suffix})" : sentence;
    }

    /// <summary>What is measured, e.g. "standby orders-db-2 replay lag".</summary>
    protected abstract string Label(in RuleObservation observation);

    /// <summary>Optional context appended in parentheses.</summary>
    protected virtual string? Suffix(in RuleObservation observation) => null;

    /// <summary>Whether queries against Postgres produced this snapshot's statistics.</summary>
    protected static bool PostgresUp(NodeSnapshot? snapshot) => snapshot is { PostgresState: PostgresState.Up };
}
