using Fleet.Protos.V1;

namespace Fleet.Aggregator.Health.Rules;

/// <summary>
/// replication_slot_inactive: a slot without a consumer (its standby or subscriber gone) keeps every WAL segment
/// from its restart_lsn on, until the disk fills; after the hold duration it is worth a look. One subject per slot.
/// </summary>
internal sealed class SlotInactiveRule(AlertRuleDefinition definition) : HealthRule(definition)
{
    public override bool Evaluate(in RuleContext context, List<RuleObservation> observations)
    {
        var snapshot = context.Input.Snapshot;
        if (snapshot is not { PostgresState: PostgresState.Up })
        {
            return false;
        }

        var slots = snapshot.Slots;
        for (var i = 0; i < slots.Count; i++) // indexed: RepeatedField's enumerator allocates, and rules run on every report
        {
            var slot = slots[i];
            observations.Add(new RuleObservation(slot.SlotName, slot.Active ? ConditionState.Clear : ConditionState.Holds,
                slot.HasRetainedBytes ? slot.RetainedBytes : null));
        }

        return true;
    }

    public override string Describe(in RuleObservation observation) =>
        observation.State == ConditionState.Holds
            ? observation.Value is { } bytes
                ? Invariant($"replication slot {observation.Subject} has no consumer and retains {bytes / (1024 * 1024):0.#} MiB of WAL")
                : $"replication slot {observation.Subject} has no consumer"
            : $"replication slot {observation.Subject} is in use";
}

/// <summary>
/// replication_slot_lost: PostgreSQL removed WAL a slot still needed (wal_status "lost", past max_slot_wal_keep_size):
/// its standby can no longer catch up from this server and must be cloned again. One subject per slot.
/// </summary>
internal sealed class SlotLostRule(AlertRuleDefinition definition) : HealthRule(definition)
{
    public override bool Evaluate(in RuleContext context, List<RuleObservation> observations)
    {
        var snapshot = context.Input.Snapshot;
        if (snapshot is not { PostgresState: PostgresState.Up })
        {
            return false;
        }

        var slots = snapshot.Slots;
        for (var i = 0; i < slots.Count; i++)
        {
            var slot = slots[i];
            observations.Add(new RuleObservation(slot.SlotName, slot.WalStatus == "lost" ? ConditionState.Holds : ConditionState.Clear, null));
        }

        return true;
    }

    public override string Describe(in RuleObservation observation) =>
        observation.State == ConditionState.Holds
            ? $"replication slot {observation.Subject} lost WAL it needed (wal_status lost): its consumer must be cloned again"
            : $"replication slot {observation.Subject} has the WAL it needs";
}
