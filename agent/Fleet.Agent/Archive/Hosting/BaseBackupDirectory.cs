using System.Collections.Concurrent;
using System.Text.Json;
using Fleet.Agent.Archive.Verification;
using Fleet.Agent.Archive.Wal;

namespace Fleet.Agent.Archive.Hosting;

/// <summary>
/// Base backups kept in Archive:BaseBackupDirectory, one sub-directory each (pg_basebackup -D DIR/NAME).
/// Where a backup_manifest exists and the backup is in plain format, pg_verifybackup --no-parse-wal checks
/// every file against it (WAL is checked by the archive verification itself). Each backup is checked once
/// per manifest version; with <c>waitForChecks</c> false the checks run in the background and their
/// verdicts appear in a later verification, so a large backup never holds up the periodic one.
/// </summary>
internal sealed class BaseBackupDirectory(string directory, string? binDirectory, TimeSpan timeout, bool waitForChecks) : IBaseBackupSource
{
    private readonly ConcurrentDictionary<string, (long Size, DateTime Modified, BackupCheck Check)> _checks = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _running = new(1, 1);
    private Task _background = Task.CompletedTask;

    public async Task<IReadOnlyList<BaseBackupRecord>> ScanAsync(CancellationToken cancellationToken)
    {
        var root = new DirectoryInfo(directory);
        if (!root.Exists)
        {
            return [];
        }

        var tool = ToolRunner.Locate("pg_verifybackup", binDirectory);
        var backups = new List<BaseBackupRecord>();
        var pending = new List<(string Name, FileInfo Manifest)>();
        foreach (var sub in root.EnumerateDirectories().Where(d => !d.Name.StartsWith('.')).OrderBy(d => d.Name, StringComparer.Ordinal))
        {
            var labelFile = new FileInfo(Path.Combine(sub.FullName, "backup_label"));
            var manifest = new FileInfo(Path.Combine(sub.FullName, "backup_manifest"));
            BackupLabel? label = null;
            if (labelFile.Exists)
            {
                BackupLabel.TryParse(await File.ReadAllTextAsync(labelFile.FullName, cancellationToken), out label, out _);
            }

            var (manifestStart, manifestTimeline) = manifest.Exists ? ReadWalRange(manifest.FullName) : (null, 0u);
            var plain = labelFile.Exists || File.Exists(Path.Combine(sub.FullName, "PG_VERSION"));
            var finished = manifest.Exists ? manifest.LastWriteTimeUtc : labelFile.Exists ? labelFile.LastWriteTimeUtc : sub.LastWriteTimeUtc;
            BackupCheck? check = null;
            string? unverified = null;
            if (!manifest.Exists)
            {
                unverified = "no backup_manifest (taken with --no-manifest, or by a tool that writes none)";
            }
            else if (!plain)
            {
                unverified = "tar format: pg_verifybackup before PostgreSQL 18 checks plain-format backups only";
            }
            else if (tool is null)
            {
                unverified = "pg_verifybackup was not found (set Postgres:BinDirectory)";
            }
            else if (_checks.TryGetValue(manifest.FullName, out var done) && done.Size == manifest.Length && done.Modified == manifest.LastWriteTimeUtc)
            {
                check = done.Check;
            }
            else
            {
                pending.Add((sub.Name, manifest));
                unverified = "pg_verifybackup is running";
            }

            backups.Add(new BaseBackupRecord(
                sub.Name,
                label?.StartLsn ?? manifestStart,
                label?.StartTimeline ?? manifestTimeline,
                new DateTimeOffset(finished, TimeSpan.Zero),
                label?.Label ?? string.Empty,
                manifest.Exists,
                check,
                unverified));
        }

        if (pending.Count == 0 || tool is null)
        {
            return backups;
        }

        if (waitForChecks)
        {
            await CheckAllAsync(tool, pending, cancellationToken);
            return backups.Select(b => _checks.TryGetValue(Path.Combine(directory, b.Name, "backup_manifest"), out var c) && b.Check is null
                ? b with { Check = c.Check, Unverified = null }
                : b).ToList();
        }

        if (_background.IsCompleted)
        {
            _background = Task.Run(() => CheckAllAsync(tool, pending, CancellationToken.None), CancellationToken.None);
        }

        return backups;
    }

    private async Task CheckAllAsync(string tool, List<(string Name, FileInfo Manifest)> pending, CancellationToken cancellationToken)
    {
        await _running.WaitAsync(cancellationToken);
        try
        {
            foreach (var (name, manifest) in pending)
            {
                BackupCheck check;
                try
                {
                    var result = await ToolRunner.RunAsync(tool, ["--no-parse-wal", Path.Combine(directory, name)], timeout, cancellationToken);
                    check = result.Succeeded
                        ? new BackupCheck(true, "backup successfully verified")
                        : new BackupCheck(false, Summarize(result.StandardError, result.StandardOutput));
                }
                catch (TimeoutException e)
                {
                    check = new BackupCheck(false, e.Message);
                }
                catch (Exception e) when (e is IOException or System.ComponentModel.Win32Exception or InvalidOperationException)
                {
                    check = new BackupCheck(false, $"pg_verifybackup could not run: {e.Message}");
                }

                manifest.Refresh();
                _checks[manifest.FullName] = (manifest.Length, manifest.LastWriteTimeUtc, check);
            }
        }
        finally
        {
            _running.Release();
        }
    }

    /// <summary>The first WAL range of backup_manifest ("WAL-Ranges": [{"Timeline": 1, "Start-LSN": "0/5000028", ...}]).</summary>
    internal static (ulong? Start, uint Timeline) ReadWalRange(string manifestPath)
    {
        try
        {
            using var stream = File.OpenRead(manifestPath);
            using var document = JsonDocument.Parse(stream);
            if (document.RootElement.TryGetProperty("WAL-Ranges", out var ranges) && ranges.ValueKind == JsonValueKind.Array && ranges.GetArrayLength() > 0)
            {
                var first = ranges[0];
                var timeline = first.TryGetProperty("Timeline", out var t) && t.TryGetUInt32(out var tli) ? tli : 0u;
                if (first.TryGetProperty("Start-LSN", out var s) && s.GetString() is { } text && Lsn.TryParse(text, out var lsn))
                {
                    return (lsn, timeline);
                }
            }
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            // Reported as "cannot tell where it starts".
        }

        return (null, 0);
    }

    private static string Summarize(string stderr, string stdout)
    {
        var lines = (stderr + "\n" + stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => !l.StartsWith("pg_verifybackup: hint", StringComparison.Ordinal))
            .Take(3)
            .ToList();
        return lines.Count == 0 ? "pg_verifybackup failed without a message" : string.Join("; ", lines);
    }
}
