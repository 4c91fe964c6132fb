using Fleet.Agent.Archive.Storage;
using Fleet.Agent.Archive.Verification;

namespace Fleet.Agent.Tests.Archive;

/// <summary>A per-test copy of a template archive, to damage; deleted on dispose.</summary>
internal sealed class ArchiveCopy : IDisposable
{
    public static readonly TimeSpan VerifyTimeout = TimeSpan.FromSeconds(60);

    public ArchiveCopy(string template)
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("fleet-archive-test-").FullName;
        foreach (var file in System.IO.Directory.GetFiles(template))
        {
            File.Copy(file, Path(System.IO.Path.GetFileName(file)));
        }
    }

    public string Directory { get; }

    public static ArchiveSettings Settings { get; } = new() { NodeRegion = "kr-central", ArchiveRegion = "kr-central" };

    public string Path(string name) => System.IO.Path.Combine(Directory, name);

    public void Delete(string name) => File.Delete(Path(name));

    /// <summary>
    /// Flips one bit in the middle of a WAL record's data (<see cref="ArchiveClusterFixture.Record"/>): every page
    /// header stays intact, so only a deep verification (record CRCs) can find it.
    /// </summary>
    public async Task FlipBitInsideRecordAsync((string Segment, ulong Lsn, int Length) record)
    {
        var (segment, lsn, length) = record;
        var bytes = await File.ReadAllBytesAsync(Path(segment));
        var offset = (int)(lsn % (ulong)bytes.Length) + Fleet.Agent.Archive.Wal.WalFormat.RecordHeaderSize + ((length - Fleet.Agent.Archive.Wal.WalFormat.RecordHeaderSize) / 2);
        bytes[offset] ^= 0x10;
        await File.WriteAllBytesAsync(Path(segment), bytes);
    }

    /// <summary>One verification of this copy with a fresh cache (unless one is given).</summary>
    public Task<VerificationOutcome> VerifyAsync(
        NodeView node, bool deep = false, ArchiveSettings? settings = null, SegmentCache? cache = null, IArchiveReader? reader = null,
        IBaseBackupSource? baseBackups = null, TimeProvider? time = null, ulong? previousFailedCount = null) =>
        new ArchiveVerifier(reader ?? new DirectoryArchiveReader(Directory), cache ?? new SegmentCache(), time ?? TimeProvider.System, parallelism: 2)
            .VerifyAsync(node, settings ?? Settings, deep, previousFailedCount, baseBackups, progress: null, CancellationToken.None)
            .WaitAsync(VerifyTimeout);

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}
