using Fleet.Protos.V1;

namespace Fleet.Aggregator.Health.Rules;

/// <summary>Base of the per-table rules over NodeSnapshot.table_health (the agent's top tables).</summary>
internal abstract class TableRule(AlertRuleDefinition definition) : ThresholdRule(definition)
{
    private readonly ulong _minTableBytes = (ulong)Math.Max(0, definition.MinTableBytes ?? 0);

    public override bool Evaluate(in RuleContext context, List<RuleObservation> observations)
    {
        // Table health is refreshed less often than every cycle; an unset section means not measured.
        var health = context.Input.Snapshot?.TableHealth;
        if (health is null)
        {
            return false;
        }

        var tables = health.TopTables;
        for (var i = 0; i < tables.Count; i++)
        {
            var table = tables[i];
            if (table.HasTotalBytes && table.TotalBytes < _minTableBytes)
            {
                continue;
            }

            if (TryMeasure(table, out var percent))
            {
                observations.Add(Observe($"{table.Database}.{table.Name}", percent));
            }
        }

        return true;
    }

    protected abstract bool TryMeasure(NodeSnapshot.Types.TableStats table, out double percent);
}

/// <summary>dead_tuples_high: dead / (live + dead) tuples of a table, in percent.</summary>
internal sealed class DeadTuplesRule(AlertRuleDefinition definition) : TableRule(definition)
{
    protected override bool TryMeasure(NodeSnapshot.Types.TableStats table, out double percent)
    {
        percent = table.HasDeadRatio ? Percent(table.DeadRatio) : 0;
        return table.HasDeadRatio;
    }

    protected override string Label(in RuleObservation observation) => $"dead tuples of table {observation.Subject}";
}

/// <summary>table_bloat_high: estimated bloat of a table (space beyond what live rows need), in percent.</summary>
internal sealed class TableBloatRule(AlertRuleDefinition definition) : TableRule(definition)
{
    protected override bool TryMeasure(NodeSnapshot.Types.TableStats table, out double percent)
    {
        percent = table.HasEstimatedBloatRatio ? Percent(table.EstimatedBloatRatio) : 0;
        return table.HasEstimatedBloatRatio;
    }

    protected override string Label(in RuleObservation observation) => $"estimated bloat of table {observation.Subject}";
}
