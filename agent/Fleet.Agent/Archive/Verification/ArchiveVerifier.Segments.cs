using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using Fleet.Agent.Archive.Wal;

namespace Fleet.Agent.Archive.Verification;

// Reading and checking segment files: from the cache when unchanged, else in parallel.
internal sealed partial class ArchiveVerifier
{
    private sealed record ScannedFile(ArchiveFile File, SegmentScanResult Result, bool FromCache);

    private async Task<Dictionary<string, ScannedFile>> ScanSegmentsAsync(
        ArchiveInventory inventory, TimelinePlan plan, NodeView node, bool deep, RunCounters run,
        Action<VerificationProgress>? progress, CancellationToken cancellationToken)
    {
        var magic = node.MajorVersion is { } major ? WalFormat.MagicForMajor(major) : null;
        var files = inventory.Segments.Concat(inventory.Partials)
            .Where(f => f.Name.Compression != WalCompression.Unsupported)
            .OrderBy(f => f.SegmentNumber).ThenBy(f => f.Timeline)
            .ToList();
        var results = new ConcurrentDictionary<string, ScannedFile>(StringComparer.Ordinal);
        var toRead = new List<(ArchiveFile File, SegmentExpectation Expectation, string Fingerprint)>();
        ulong bytesTotal = 0;
        foreach (var file in files)
        {
            var expectation = new SegmentExpectation(
                file.Entry.Name, file.Timeline, file.SegmentNumber, plan.SegmentSize, node.BlockSize, magic, node.SystemIdentifier,
                plan.HistoryOf(file.Timeline), file.Name.Kind == WalFileKind.Partial);
            var fingerprint = SegmentCache.Fingerprint(expectation);
            if (_cache.TryGet(file.Entry, fingerprint, deep, out var cached))
            {
                results[file.Entry.Name] = new ScannedFile(file, cached, FromCache: true);
            }
            else
            {
                toRead.Add((file, expectation, fingerprint));
                bytesTotal += file.Compressed ? plan.SegmentSize : (ulong)file.Entry.Size;
            }
        }

        var total = (ulong)files.Count;
        long segmentsDone = results.Count;
        long bytesDone = 0;
        progress?.Invoke(new VerificationProgress((ulong)segmentsDone, total, 0, bytesTotal, string.Empty));
        var options = new ParallelOptions { MaxDegreeOfParallelism = _parallelism, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(toRead, options, async (item, token) =>
        {
            var result = await ScanFileAsync(item.File, item.Expectation, deep, plan, inventory, run, token);
            if (result is null)
            {
                return;
            }

            if (result.Problem?.Code != FindingCodes.SegmentUnreadable)
            {
                _cache.Put(item.File.Entry, item.Fingerprint, result);
            }

            results[item.File.Entry.Name] = new ScannedFile(item.File, result, FromCache: false);
            var done = Interlocked.Increment(ref segmentsDone);
            var bytes = Interlocked.Add(ref bytesDone, result.Length);
            progress?.Invoke(new VerificationProgress((ulong)done, total, (ulong)bytes, bytesTotal, item.File.Entry.Name));
        });

        return new Dictionary<string, ScannedFile>(results, StringComparer.Ordinal);
    }

    /// <summary>Reads one file through a <see cref="SegmentScanner"/>; null if it vanished since the listing.</summary>
    private async Task<SegmentScanResult?> ScanFileAsync(
        ArchiveFile file, SegmentExpectation expectation, bool deep, TimelinePlan plan, ArchiveInventory inventory, RunCounters run,
        CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        // Deep mode reads smaller chunks, so the CRC runs over data still in the CPU cache from the copy.
        var chunk = deep ? DeepChunkSize : ChunkSize;
        try
        {
            var scanner = new SegmentScanner(expectation, deep);
            await using (var stream = await _reader.OpenReadAsync(file.Entry, cancellationToken))
            {
                long fed = 0;
                while (true)
                {
                    var read = await stream.ReadAtLeastAsync(buffer.AsMemory(0, chunk), chunk, throwOnEndOfStream: false, cancellationToken);
                    run.AddBytes(read);
                    fed += read;
                    scanner.Feed(buffer.AsSpan(0, read));
                    // An uncompressed file ends at its listed size: no extra read to meet end-of-file.
                    var listedEnd = !file.Compressed && fed >= file.Entry.Size;
                    if (read < chunk || listedEnd || !scanner.WantsMore || fed > (long)expectation.SegmentSize)
                    {
                        break;
                    }
                }
            }

            run.AddFile();
            var result = scanner.Complete();
            if (result.ContinuesIntoNext && scanner.Records is { } checker && plan.Next(file, inventory) is { } next)
            {
                result = await FinishSpanningRecordAsync(result, checker, next, scanner.BlockSize, plan.SegmentSize, buffer, run, cancellationToken);
            }

            return result;
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            return new SegmentScanResult
            {
                Problem = new SegmentProblem(FindingCodes.SegmentUnreadable, $"cannot be read: {e.Message}", expectation.StartLsn),
            };
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Deep mode: the segment's last record continues into <paramref name="next"/>; read just enough of it to check that record.</summary>
    private async Task<SegmentScanResult> FinishSpanningRecordAsync(
        SegmentScanResult result, WalRecordChecker checker, ArchiveFile next, int blockSize, ulong segmentSize, byte[] buffer, RunCounters run,
        CancellationToken cancellationToken)
    {
        try
        {
            await using var stream = await _reader.OpenReadAsync(next.Entry, cancellationToken);
            var lsn = next.SegmentNumber * segmentSize;
            var resolved = false;
            while (!resolved)
            {
                var read = await stream.ReadAtLeastAsync(buffer.AsMemory(0, ChunkSize), ChunkSize, throwOnEndOfStream: false, cancellationToken);
                run.AddBytes(read);
                resolved = RecordContinuation.Feed(checker, buffer.AsSpan(0, read - (read % blockSize)), lsn, blockSize);
                lsn += (ulong)read;
                if (read < ChunkSize)
                {
                    break;
                }
            }

            if (checker.Problem is { } problem)
            {
                return result with { Problem = problem, Deep = false, ContinuesIntoNext = false };
            }

            return resolved ? result with { Deep = true, ContinuesIntoNext = false, Records = result.Records + 1 } : result;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            // The next segment's own scan reports it; this record stays unchecked until then.
            return result;
        }
    }

    /// <summary>A short or unreadable file modified this recently is probably still being copied (cp writes in place).</summary>
    internal static readonly TimeSpan InProgressGrace = TimeSpan.FromMinutes(2);

    private static void ReportSegments(
        ArchiveInventory inventory, TimelinePlan plan, NodeView node, Dictionary<string, ScannedFile> results, DateTimeOffset now, FindingList findings)
    {
        var ordered = results.Values.OrderBy(r => r.File.SegmentNumber).ThenBy(r => r.File.Timeline).ToList();
        var flagged = new HashSet<string>(StringComparer.Ordinal);
        foreach (var scanned in ordered)
        {
            if (scanned.Result.Problem is not { } problem)
            {
                continue;
            }

            flagged.Add(scanned.File.Entry.Name);
            var age = now - scanned.File.Entry.LastModified;
            if (problem.Code is FindingCodes.SegmentTruncated or FindingCodes.SegmentUnreadable && age < InProgressGrace)
            {
                findings.Info(problem.Code, scanned.File.Entry.Name,
                    $"{scanned.File.Entry.Name}: {problem.Message}; it was modified {Math.Max(0, age.TotalSeconds):0} s ago, so it is probably still being copied (checked again next time; an archive_command that copies to a temporary name and renames avoids this)",
                    problem.Lsn);
                continue;
            }

            Report(plan, scanned.File, problem, findings);
        }

        if (node.SystemIdentifier is null)
        {
            ReportMinority<ulong>(plan, ordered, flagged, r => r.SystemIdentifier, FindingCodes.SysidMismatch,
                (value, majority) => $"system identifier {value}, but most of the archive has {majority}: the segment comes from another cluster", findings);
        }

        if (node.MajorVersion is null || WalFormat.MagicForMajor(node.MajorVersion.Value) is null)
        {
            ReportMinority<ushort>(plan, ordered, flagged, r => r.Magic == 0 ? null : r.Magic, FindingCodes.PageMagicMismatch,
                (value, majority) => $"page magic 0x{value:X4}, but most of the archive has 0x{majority:X4}: written by another PostgreSQL major version", findings);
        }

        ReportSegmentBoundaries(inventory, plan, results, flagged, findings);
        foreach (var partial in inventory.Partials)
        {
            ReportPartial(plan, partial, findings);
        }
    }

    private static void Report(TimelinePlan plan, ArchiveFile file, SegmentProblem problem, FindingList findings)
    {
        var name = file.Entry.Name;
        if (file.Name.Kind == WalFileKind.Partial)
        {
            findings.Warning(problem.Code, name, $"{name}: {problem.Message} (a partial segment; PostgreSQL never restores it)", problem.Lsn);
            return;
        }

        switch (plan.PlacementOf(file))
        {
            case SegmentPlacement.OnPath:
                findings.Critical(problem.Code, name, $"{name}: {problem.Message}", problem.Lsn);
                break;
            case SegmentPlacement.BeforeStart:
                findings.Warning(problem.Code, name, $"{name}: {problem.Message} (older than the start of continuity, so no retained base backup needs it)", problem.Lsn);
                break;
            default:
                findings.Warning(problem.Code, name, $"{name}: {problem.Message} (not on the recovery path of timeline {plan.Target})", problem.Lsn);
                break;
        }
    }

    /// <summary>Without the server's value, a value differing from the archive's majority is the anomaly.</summary>
    private static void ReportMinority<T>(
        TimelinePlan plan, List<ScannedFile> ordered, HashSet<string> flagged, Func<SegmentScanResult, T?> value, string code,
        Func<T, T, string> describe, FindingList findings)
        where T : struct
    {
        var clean = ordered.Where(r => r.Result.Problem is null && value(r.Result) is not null).ToList();
        if (clean.Count == 0)
        {
            return;
        }

        var majority = clean.GroupBy(r => value(r.Result)!.Value).OrderByDescending(g => g.Count()).First().Key;
        foreach (var scanned in clean.Where(r => !EqualityComparer<T>.Default.Equals(value(r.Result)!.Value, majority)))
        {
            if (flagged.Add(scanned.File.Entry.Name))
            {
                Report(plan, scanned.File, new SegmentProblem(code, describe(value(scanned.Result)!.Value, majority), scanned.File.SegmentNumber * plan.SegmentSize), findings);
            }
        }
    }

    /// <summary>Consecutive segments on the path must agree on the record crossing their boundary (xlp_rem_len).</summary>
    private static void ReportSegmentBoundaries(
        ArchiveInventory inventory, TimelinePlan plan, Dictionary<string, ScannedFile> results, HashSet<string> flagged, FindingList findings)
    {
        ScannedFile? previous = null;
        foreach (var file in inventory.Segments.Where(f => plan.PlacementOf(f) != SegmentPlacement.OffPath))
        {
            if (!results.TryGetValue(file.Entry.Name, out var current))
            {
                previous = null;
                continue;
            }

            if (previous is not null && previous.File.SegmentNumber + 1 == file.SegmentNumber &&
                !flagged.Contains(previous.File.Entry.Name) && !flagged.Contains(file.Entry.Name))
            {
                var before = previous.Result;
                var after = current.Result;
                string? message = null;
                if (before.CarryOut > 0 && after.CarriedIn != before.CarryOut)
                {
                    message = string.Create(CultureInfo.InvariantCulture,
                        $"its first page continues {after.CarriedIn} bytes of a record, but {previous.File.Entry.Name} ends with a record needing {before.CarryOut} more bytes");
                }
                else if (before.EndOfWal is not null && after.CarriedIn > 0)
                {
                    message = string.Create(CultureInfo.InvariantCulture,
                        $"its first page continues {after.CarriedIn} bytes of a record, but WAL in {previous.File.Entry.Name} ends at {Lsn.Format(before.EndOfWal.Value)}");
                }

                if (message is not null && flagged.Add(file.Entry.Name))
                {
                    Report(plan, file, new SegmentProblem(FindingCodes.RecordInvalid, message, file.SegmentNumber * plan.SegmentSize), findings);
                }
            }

            previous = current;
        }
    }

    private static void ReportPartial(TimelinePlan plan, ArchiveFile partial, FindingList findings)
    {
        var size = plan.SegmentSize;
        var child = plan.Histories.Values
            .Select(h => (History: h, Span: h.Find(partial.Timeline)))
            .Where(x => x.Span is { } s && s.End != TimelineSpan.Open && s.End / size == partial.SegmentNumber && x.History.Timeline > partial.Timeline)
            .OrderBy(x => x.History.Timeline)
            .Select(x => x.History)
            .FirstOrDefault();
        var name = partial.Entry.Name;
        var message = child is not null
            ? $"{name} is the last, incomplete segment of timeline {partial.Timeline}, left when timeline {child.Timeline} began at {Lsn.Format(child.Begin)}; recovery reads {WalFileName.FormatSegment(child.Timeline, partial.SegmentNumber, size)} instead"
            : $"{name} is an incomplete segment (pg_receivewal's current segment, or left by a promotion whose history file is missing); PostgreSQL never restores .partial files";
        findings.Info(FindingCodes.PartialSegment, name, message, partial.SegmentNumber * size);
    }
}
