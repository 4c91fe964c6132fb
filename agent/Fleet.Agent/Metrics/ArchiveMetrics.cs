using Fleet.Hosting.Prometheus;
using Fleet.Protos.V1;

namespace Fleet.Agent.Metrics;

/// <summary>
/// fleet_pg_archiver_* (pg_stat_archiver, from the snapshot) and fleet_archive_* (the agent's latest WAL
/// archive verification). Findings are counted by severity only: their messages and subjects never become labels.
/// </summary>
internal static class ArchiveMetrics
{
    public static void WriteArchiver(PrometheusTextWriter w, NodeSnapshot.Types.Archiver? archiver)
    {
        if (archiver is null)
        {
            return;
        }

        w.BeginFamily("fleet_pg_archiver_mode", PrometheusMetricType.Gauge, "The archive_mode setting; one series with value 1.");
        w.Sample("mode", MetricLabels.Bounded(archiver.ArchiveMode, MetricLabels.ArchiveModes), 1);
        w.WriteCounter("fleet_pg_archiver_archived_total", "WAL files archived since the statistics reset.", archiver.ArchivedCount);
        w.WriteCounter("fleet_pg_archiver_failed_total", "Failed archiving attempts since the statistics reset.", archiver.FailedCount);
        if (archiver.LastArchivedTime is { } archived)
        {
            w.WriteGauge("fleet_pg_archiver_last_archived_timestamp_seconds", "When the last WAL file was archived, in Unix seconds; time() minus it is the live RPO exposure.", MetricLabels.UnixSeconds(archived));
        }

        if (archiver.LastFailedTime is { } failed)
        {
            w.WriteGauge("fleet_pg_archiver_last_failed_timestamp_seconds", "When the last archiving attempt failed, in Unix seconds.", MetricLabels.UnixSeconds(failed));
        }
    }

    public static void WriteVerification(PrometheusTextWriter w, ArchiveStatus? status, AgentIdentity identity)
    {
        if (status is null)
        {
            return;
        }

        w.BeginFamily("fleet_archive_verdict", PrometheusMetricType.Gauge, "Verdict of the latest archive verification; one series with value 1.");
        w.Sample("verdict", MetricLabels.Verdict(status.Verdict), 1);
        WriteFindings(w, status);
        if (status.ArchiveRegion.Length > 0 || status.ArchiveLocation.Length > 0)
        {
            w.BeginFamily("fleet_archive_info", PrometheusMetricType.Gauge, "Where the archive lives (location without credentials); value 1.");
            w.BeginSample();
            w.Label("archive_region", status.ArchiveRegion);
            w.Label("location", status.ArchiveLocation);
            w.EndSample(1);
        }

        if (status.ArchiveRegion.Length > 0)
        {
            w.WriteGauge("fleet_archive_in_region", "1 when the archive's region is the node's region, else 0 (a data-residency violation).", MetricLabels.Bool(string.Equals(status.ArchiveRegion, identity.Region, StringComparison.Ordinal)));
        }

        w.WriteGauge("fleet_archive_lag_segments", "WAL segments completed by the node but not yet archived.", status.ArchiveLagSegments);
        w.WriteGauge("fleet_archive_lag_bytes", "The archive lag in bytes of WAL.", status.ArchiveLagBytes);
        if (status.HasRpoExposureSeconds)
        {
            w.WriteGauge("fleet_archive_rpo_exposure_seconds", "Time since the last segment was archived, as of the verification, in seconds.", status.RpoExposureSeconds);
        }

        if (status.HasNewestBaseBackupAgeSeconds)
        {
            w.WriteGauge("fleet_archive_newest_base_backup_age_seconds", "Age of the newest base backup as of the verification, in seconds.", status.NewestBaseBackupAgeSeconds);
        }

        if (status.NewestBaseBackup?.FinishedAt is { } newest)
        {
            w.WriteGauge("fleet_archive_newest_base_backup_timestamp_seconds", "When the newest base backup finished, in Unix seconds.", MetricLabels.UnixSeconds(newest));
        }

        if (status.OldestBaseBackup?.FinishedAt is { } oldest)
        {
            w.WriteGauge("fleet_archive_oldest_base_backup_timestamp_seconds", "When the oldest retained base backup finished, in Unix seconds.", MetricLabels.UnixSeconds(oldest));
        }

        w.WriteGauge("fleet_archive_verified_segments", "WAL segments checked by the latest verification.", status.SegmentsVerified);
        if (status.VerifiedAt is { } verifiedAt)
        {
            w.WriteGauge("fleet_archive_verification_timestamp_seconds", "When the latest verification finished, in Unix seconds.", MetricLabels.UnixSeconds(verifiedAt));
        }

        w.WriteGauge("fleet_archive_verification_duration_seconds", "How long the latest verification took, in seconds.", status.DurationSeconds);
        w.WriteGauge("fleet_archive_verification_deep", "1 when the latest verification checked every record's CRC-32C, else 0.", MetricLabels.Bool(status.Deep));
    }

    private static void WriteFindings(PrometheusTextWriter w, ArchiveStatus status)
    {
        ulong info = 0, warning = 0, critical = 0;
        var findings = status.Findings;
        for (var i = 0; i < findings.Count; i++)
        {
            switch (findings[i].Severity)
            {
                case Severity.Info:
                    info++;
                    break;
                case Severity.Warning:
                    warning++;
                    break;
                case Severity.Critical:
                    critical++;
                    break;
                default:
                    break;
            }
        }

        w.BeginFamily("fleet_archive_findings", PrometheusMetricType.Gauge, "Findings of the latest verification, by severity.");
        w.Sample("severity", "info", info);
        w.Sample("severity", "warning", warning);
        w.Sample("severity", "critical", critical);
    }
}
