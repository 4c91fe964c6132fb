namespace Fleet.Agent.Archive.Storage;

/// <summary>One file in a WAL archive, as listed (no content read).</summary>
/// <param name="Name">File name inside the archive (no directories), e.g. "000000010000000000000003.gz".</param>
/// <param name="Size">Stored size in bytes (compressed size for compressed files).</param>
/// <param name="LastModified">Modification time as the storage reports it (for S3: LastModified).</param>
internal sealed record ArchiveEntry(string Name, long Size, DateTimeOffset LastModified);

/// <summary>
/// Read access to a WAL archive: a flat namespace of files, listed and read whole or from an offset. The
/// directory implementation serves archive_command = 'cp %p /archive/%f' layouts; an object store (S3
/// ListObjectsV2 + ranged GetObject) fits the same shape. Implementations are thread-safe: the verifier reads
/// several files at once.
/// </summary>
internal interface IArchiveReader
{
    /// <summary>Where the archive is, without credentials (a path, or "s3://bucket/prefix").</summary>
    string Location { get; }

    /// <summary>Lists every file. Throws <see cref="ArchiveUnavailableException"/> if the archive cannot be listed.</summary>
    Task<IReadOnlyList<ArchiveEntry>> ListAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Opens a file for sequential reading of its content; files whose name ends in ".gz" are decompressed.
    /// The caller disposes the stream.
    /// </summary>
    Task<Stream> OpenReadAsync(ArchiveEntry entry, CancellationToken cancellationToken);
}

/// <summary>The archive as a whole cannot be reached (missing directory, permissions, network).</summary>
internal sealed class ArchiveUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
