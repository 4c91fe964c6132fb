using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Fleet.Agent.Archive.Storage;
using Fleet.Agent.Archive.Wal;

namespace Fleet.Agent.Archive.Verification;

/// <summary>
/// Results of files already verified, keyed by name and valid while the file's size and modification time
/// and the expectations it was checked against (the fingerprint) are unchanged: an unchanged segment is
/// never read twice. Small files (.history, .backup) are cached by content. Optionally persisted (clean
/// results only) so a restarted agent does not re-read the whole archive.
/// </summary>
internal sealed class SegmentCache
{
    private const string Header = "# fleet-agent WAL archive verification cache v1";
    private readonly ConcurrentDictionary<string, Entry> _segments = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (long Size, DateTimeOffset Modified, string Text)> _texts = new(StringComparer.Ordinal);

    public int Count => _segments.Count;

    public bool TryGet(ArchiveEntry file, string fingerprint, bool deep, out SegmentScanResult result)
    {
        if (_segments.TryGetValue(file.Name, out var entry) && entry.Size == file.Size && entry.Modified == file.LastModified &&
            entry.Fingerprint == fingerprint && (!deep || entry.Result.Deep || entry.Result.Problem is not null))
        {
            result = entry.Result;
            return true;
        }

        result = null!;
        return false;
    }

    public void Put(ArchiveEntry file, string fingerprint, SegmentScanResult result) =>
        _segments[file.Name] = new Entry(file.Size, file.LastModified, fingerprint, result);

    public bool TryGetText(ArchiveEntry file, out string text)
    {
        if (_texts.TryGetValue(file.Name, out var cached) && cached.Size == file.Size && cached.Modified == file.LastModified)
        {
            text = cached.Text;
            return true;
        }

        text = string.Empty;
        return false;
    }

    public void PutText(ArchiveEntry file, string text) => _texts[file.Name] = (file.Size, file.LastModified, text);

    /// <summary>Forgets files that are no longer in the archive (retention removed them).</summary>
    public void Retain(IReadOnlyCollection<ArchiveEntry> listed)
    {
        var names = listed.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var name in _segments.Keys.Where(n => !names.Contains(n)).ToList())
        {
            _segments.TryRemove(name, out _);
        }

        foreach (var name in _texts.Keys.Where(n => !names.Contains(n)).ToList())
        {
            _texts.TryRemove(name, out _);
        }
    }

    /// <summary>Writes the clean segment results to <paramref name="path"/> (atomically, via a temporary file).</summary>
    public void Save(string path)
    {
        var text = new StringBuilder(Header).Append('\n');
        foreach (var (name, entry) in _segments.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            var r = entry.Result;
            if (r.Problem is not null)
            {
                continue;
            }

            text.Append(CultureInfo.InvariantCulture,
                $"{name}\t{entry.Size}\t{entry.Modified.UtcTicks}\t{entry.Fingerprint}\t{(r.Deep ? 1 : 0)}\t{r.Length}\t{r.CarriedIn}\t{r.CarryOut}\t{r.SystemIdentifier?.ToString(CultureInfo.InvariantCulture) ?? "-"}\t{r.Magic}\t{r.Records}\t{r.EndOfWal?.ToString(CultureInfo.InvariantCulture) ?? "-"}\n");
        }

        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        var temporary = path + ".tmp";
        File.WriteAllText(temporary, text.ToString());
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Loads results saved by <see cref="Save"/>; a missing or unreadable file loads nothing. Returns the entries loaded.</summary>
    public int Load(string path)
    {
        if (!File.Exists(path))
        {
            return 0;
        }

        var lines = File.ReadAllLines(path);
        if (lines.Length == 0 || lines[0] != Header)
        {
            return 0;
        }

        var loaded = 0;
        foreach (var line in lines.Skip(1))
        {
            var f = line.Split('\t');
            if (f.Length != 12 ||
                !long.TryParse(f[1], CultureInfo.InvariantCulture, out var size) ||
                !long.TryParse(f[2], CultureInfo.InvariantCulture, out var ticks) ||
                !long.TryParse(f[5], CultureInfo.InvariantCulture, out var length) ||
                !uint.TryParse(f[6], CultureInfo.InvariantCulture, out var carriedIn) ||
                !ulong.TryParse(f[7], CultureInfo.InvariantCulture, out var carryOut) ||
                !ushort.TryParse(f[9], CultureInfo.InvariantCulture, out var magic) ||
                !int.TryParse(f[10], CultureInfo.InvariantCulture, out var records))
            {
                continue;
            }

            var result = new SegmentScanResult
            {
                Deep = f[4] == "1",
                Length = length,
                CarriedIn = carriedIn,
                CarryOut = carryOut,
                SystemIdentifier = ulong.TryParse(f[8], CultureInfo.InvariantCulture, out var sysid) ? sysid : null,
                Magic = magic,
                Records = records,
                EndOfWal = ulong.TryParse(f[11], CultureInfo.InvariantCulture, out var end) ? end : null,
            };
            _segments[f[0]] = new Entry(size, new DateTimeOffset(ticks, TimeSpan.Zero), f[3], result);
            loaded++;
        }

        return loaded;
    }

    /// <summary>The expectations a result depends on; a change (new history, other sysid) forces a re-read.</summary>
    public static string Fingerprint(SegmentExpectation e) => string.Create(CultureInfo.InvariantCulture,
        $"{e.SegmentSize}|{e.BlockSize?.ToString(CultureInfo.InvariantCulture) ?? "?"}|{e.Magic?.ToString("X4", CultureInfo.InvariantCulture) ?? "?"}|{e.SystemIdentifier?.ToString(CultureInfo.InvariantCulture) ?? "?"}|{Spans(e.History)}|{(e.IsPartial ? "P" : "S")}");

    private static string Spans(TimelineHistory history) => string.Join(',', history.Spans.Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.Timeline}:{s.Begin:X}-{s.End:X}")));

    private sealed record Entry(long Size, DateTimeOffset Modified, string Fingerprint, SegmentScanResult Result);
}
