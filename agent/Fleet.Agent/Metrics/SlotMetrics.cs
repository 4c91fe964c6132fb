using Fleet.Hosting.Prometheus;
using Fleet.Protos.V1;

namespace Fleet.Agent.Metrics;

/// <summary>fleet_pg_replication_slot_*: one set of series per replication slot (label <c>slot</c>); bounded by max_replication_slots.</summary>
internal static class SlotMetrics
{
    private const string Label = "slot";

    public static void Write(PrometheusTextWriter w, NodeSnapshot snapshot)
    {
        var slots = snapshot.Slots;
        if (slots.Count == 0)
        {
            return;
        }

        w.BeginFamily("fleet_pg_replication_slot_info", PrometheusMetricType.Gauge, "A replication slot's type and wal_status; value 1.");
        for (var i = 0; i < slots.Count; i++)
        {
            var slot = slots[i];
            w.BeginSample();
            w.Label(Label, slot.SlotName);
            w.Label("slot_type", MetricLabels.Bounded(slot.SlotType, MetricLabels.SlotTypes));
            w.Label("wal_status", MetricLabels.Bounded(slot.WalStatus, MetricLabels.WalStatuses));
            w.EndSample(1);
        }

        w.BeginFamily("fleet_pg_replication_slot_active", PrometheusMetricType.Gauge, "1 when a consumer is connected to the slot, else 0.");
        for (var i = 0; i < slots.Count; i++)
        {
            w.Sample(Label, slots[i].SlotName, MetricLabels.Bool(slots[i].Active));
        }

        w.BeginFamily("fleet_pg_replication_slot_retained_bytes", PrometheusMetricType.Gauge, "WAL kept for the slot (current position - restart_lsn), in bytes.");
        for (var i = 0; i < slots.Count; i++)
        {
            if (slots[i].HasRetainedBytes)
            {
                w.Sample(Label, slots[i].SlotName, slots[i].RetainedBytes);
            }
        }

        w.BeginFamily("fleet_pg_replication_slot_restart_lsn_bytes", PrometheusMetricType.Gauge, "Oldest WAL position the slot still needs, as a byte position.");
        for (var i = 0; i < slots.Count; i++)
        {
            if (slots[i].RestartLsn != 0)
            {
                w.Sample(Label, slots[i].SlotName, slots[i].RestartLsn);
            }
        }
    }
}
