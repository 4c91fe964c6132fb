using System.IO.Compression;

namespace Fleet.Agent.Archive.Storage;

/// <summary>
/// A WAL archive that is a local or mounted directory (NFS, a CSI volume), as written by
/// <c>cp %p /archive/%f</c>, <c>test ! -f /archive/%f &amp;&amp; cp %p /archive/%f</c> or
/// <c>gzip &lt; %p &gt; /archive/%f.gz</c>. Only the top level is listed; sub-directories and dot-files
/// (temporary copies) are ignored.
/// </summary>
internal sealed class DirectoryArchiveReader : IArchiveReader
{
    private readonly string _directory;

    public DirectoryArchiveReader(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        _directory = Path.GetFullPath(directory);
    }

    public string Location => _directory;

    public Task<IReadOnlyList<ArchiveEntry>> ListAsync(CancellationToken cancellationToken)
    {
        try
        {
            var entries = new List<ArchiveEntry>();
            var directory = new DirectoryInfo(_directory);
            if (!directory.Exists)
            {
                throw new ArchiveUnavailableException($"the archive directory {_directory} does not exist");
            }

            foreach (var file in directory.EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = false, IgnoreInaccessible = false, AttributesToSkip = 0 }))
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (file.Name.StartsWith('.'))
                {
                    continue;
                }

                entries.Add(new ArchiveEntry(file.Name, file.Length, new DateTimeOffset(file.LastWriteTimeUtc, TimeSpan.Zero)));
            }

            return Task.FromResult<IReadOnlyList<ArchiveEntry>>(entries);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.SecurityException)
        {
            throw new ArchiveUnavailableException($"cannot list the archive directory {_directory}: {e.Message}", e);
        }
    }

    public Task<Stream> OpenReadAsync(ArchiveEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.Name.Contains('/', StringComparison.Ordinal) || entry.Name.Contains('\\', StringComparison.Ordinal) || entry.Name is "." or "..")
        {
            throw new ArgumentException($"'{entry.Name}' is not a file name.", nameof(entry));
        }

        // Unbuffered: callers read whole pages into their own buffers. FileShare.Delete: retention may remove
        // files while they are being read.
        Stream stream = new FileStream(
            Path.Combine(_directory, entry.Name), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0, FileOptions.SequentialScan);
        if (entry.Name.EndsWith(".gz", StringComparison.Ordinal))
        {
            stream = new GZipStream(stream, CompressionMode.Decompress, leaveOpen: false);
        }

        return Task.FromResult(stream);
    }
}
