using Fleet.Protos.V1;

namespace Fleet.Aggregator.Health.Rules;

/// <summary>
/// One subject per replication slot of the node. <c>replication_slot_inactive</c>: a slot without a consumer (its
/// standby or subscriber gone) keeps every WAL segment from its restart_lsn on, until the disk fills; after the
/// hold duration it is worth a look. <c>replication_slot_lost</c>: PostgreSQL removed WAL the slot still needed
/// (wal_status "lost", past max_slot_wal_keep_size), so its consumer can no longer catch up from this server.
/// </summary>
internal sealed class ReplicationSlotRule(AlertRuleDefinition definition, bool lostOnly) : HealthRule(definition)
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
            var holds = lostOnly ? slot.WalStatus == "lost" : !slot.Active;
            observations.Add(new RuleObservation(slot.SlotName, holds ? ConditionState.Holds : ConditionState.Clear, slot.HasRetainedBytes ? slot.RetainedBytes : null));
        }

        return true;
    }

    public override string Describe(in RuleObservation observation) => (observation.State == ConditionState.Holds, lostOnly) switch
    {
        (true, true) => $"replication slot {observation.Subject} lost WAL it needed (wal_status lost): its consumer must be cloned again",
        (false, true) => $"replication slot {observation.Subject} has the WAL it needs",
        (true, false) => observation.Value is { } bytes
            ? Invariant($"replication slot {observation.Subject} has no consumer and retains {bytes / (1024 * 1024):0.#} MiB of WAL")
            : $"replication slot {observation.Subject} has no consumer",
        (false, false) => $"replication slot {observation.Subject} is in use",
    };
}
