namespace Fleet.Aggregator.Health.Rules;

/// <summary>cpu_high: host CPU busy over the last interval, in percent (container limits apply).</summary>
internal sealed class CpuRule(AlertRuleDefinition definition) : ThresholdRule(definition)
{
    public override bool Evaluate(in RuleContext context, List<RuleObservation> observations)
    {
        if (context.Input.Snapshot?.Host is not { HasCpuPercent: true } host)
        {
            return false;
        }

        observations.Add(Observe(string.Empty, host.CpuPercent));
        return true;
    }

    protected override string Label(in RuleObservation observation) => "CPU busy";
}

/// <summary>memory_high: memory in use without reclaimable page cache, in percent of the limit.</summary>
internal sealed class MemoryRule(AlertRuleDefinition definition) : ThresholdRule(definition)
{
    public override bool Evaluate(in RuleContext context, List<RuleObservation> observations)
    {
        if (context.Input.Snapshot?.Host is not { MemoryTotalBytes: > 0 } host)
        {
            return false;
        }

        observations.Add(Observe(string.Empty, Percent(host.MemoryUsedBytes, host.MemoryTotalBytes)));
        return true;
    }

    protected override string Label(in RuleObservation observation) => "memory in use";
}

/// <summary>disk_usage_warning / disk_usage_critical: the data directory's filesystem, in percent used.</summary>
internal sealed class DiskRule(AlertRuleDefinition definition) : ThresholdRule(definition)
{
    public override bool Evaluate(in RuleContext context, List<RuleObservation> observations)
    {
        if (context.Input.Snapshot?.Host is not { DiskTotalBytes: > 0 } host)
        {
            return false;
        }

        observations.Add(Observe(string.Empty, Percent(host.DiskUsedBytes, host.DiskTotalBytes)));
        return true;
    }

    protected override string Label(in RuleObservation observation) => "data disk used";
}
