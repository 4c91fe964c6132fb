using Fleet.Hosting.Prometheus;
using Fleet.Protos.V1;

namespace Fleet.Agent.Metrics;

/// <summary>fleet_host_*: CPU, memory and data-volume disk as the agent sees them (container limits where they apply).</summary>
internal static class HostMetrics
{
    public static void Write(PrometheusTextWriter w, NodeSnapshot.Types.Host? host)
    {
        if (host is null)
        {
            return;
        }

        if (host.HasCpuPercent)
        {
            w.WriteGauge("fleet_host_cpu_ratio", "CPU busy over the last collection interval, 0..1 of the CPU available.", host.CpuPercent / 100);
        }

        w.WriteGauge("fleet_host_memory_used_bytes", "Memory in use without reclaimable page cache, in bytes.", host.MemoryUsedBytes);
        if (host.MemoryTotalBytes != 0)
        {
            w.WriteGauge("fleet_host_memory_total_bytes", "Memory available (cgroup limit or physical), in bytes.", host.MemoryTotalBytes);
        }

        // A filesystem size of 0 means the data directory is unknown (not configured): then so is its usage.
        if (host.DiskTotalBytes != 0)
        {
            w.WriteGauge("fleet_host_disk_used_bytes", "Used space on the data directory's filesystem, in bytes.", host.DiskUsedBytes);
            w.WriteGauge("fleet_host_disk_total_bytes", "Size of the data directory's filesystem, in bytes.", host.DiskTotalBytes);
        }
    }
}
