namespace Fleet.Agent.Actions;

/// <summary>What one storage probe found.</summary>
public enum StorageOutcome
{
    /// <summary>Every probe file was written and flushed to disk.</summary>
    Written,

    /// <summary>The write (or its flush) has not returned yet: it stays outstanding.</summary>
    Pending,

    /// <summary>The write failed at once (permissions, a read-only or full filesystem, an I/O error).</summary>
    Failed,
}

/// <summary>
/// Writes and fsyncs a small file on each filesystem PostgreSQL writes to: the data directory, and the WAL
/// directory when pg_wal is a symbolic link to another volume (initdb --waldir). The agent's own file, not a
/// PostgreSQL write: no WAL is generated, so an idle server stays idle (no archive_timeout segment switch).
/// A write on a stalled filesystem cannot be cancelled (the thread sleeps uninterruptibly in the kernel), so
/// at most one write is outstanding: later probes wait on it again until it returns.
/// </summary>
internal sealed class StorageProbe(IReadOnlyList<string> files, TimeProvider time)
{
    public const string FileName = "fleet_storage_probe";

    private readonly byte[] _buffer = new byte[8];
    private readonly HashSet<string> _modeSet = new(StringComparer.Ordinal);
    private Task? _outstanding;
    private string _current = string.Empty;

    /// <summary>The probe files for a data directory: its own, and pg_wal's when pg_wal is a link to another place.</summary>
    public static IReadOnlyList<string> FilesFor(string dataDirectory)
    {
        ArgumentNullException.ThrowIfNull(dataDirectory);
        var files = new List<string> { System.IO.Path.Combine(dataDirectory, FileName) };
        var wal = new DirectoryInfo(System.IO.Path.Combine(dataDirectory, "pg_wal"));
        if (wal.Exists && wal.LinkTarget is not null)
        {
            files.Add(System.IO.Path.Combine(wal.FullName, FileName));
        }

        return files;
    }

    public IReadOnlyList<string> Files => files;

    /// <summary>When the outstanding write started (a <see cref="TimeProvider.GetTimestamp"/> value), or null when none is outstanding.</summary>
    public long? OutstandingSince { get; private set; }

    /// <summary>The file being written by the outstanding write.</summary>
    public string CurrentFile => Volatile.Read(ref _current);

    /// <summary>The error of the last failed probe.</summary>
    public string? LastError { get; private set; }

    /// <summary>Starts a write unless one is outstanding, then waits for it at most <paramref name="wait"/>.</summary>
    public async Task<StorageOutcome> ProbeAsync(TimeSpan wait, CancellationToken cancellationToken)
    {
        if (_outstanding is null)
        {
            OutstandingSince = time.GetTimestamp();
            _outstanding = Task.Factory.StartNew(WriteAll, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }

        try
        {
            await _outstanding.WaitAsync(wait, time, cancellationToken);
            (_outstanding, OutstandingSince, LastError) = (null, null, null);
            return StorageOutcome.Written;
        }
        catch (TimeoutException)
        {
            return StorageOutcome.Pending;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            (_outstanding, OutstandingSince, LastError) = (null, null, $"{CurrentFile}: {e.Message}");
            return StorageOutcome.Failed;
        }
    }

    private void WriteAll()
    {
        // A dedicated thread (LongRunning): a write stuck in the kernel must not hold a pool thread.
        BitConverter.TryWriteBytes(_buffer, time.GetUtcNow().ToUnixTimeMilliseconds());
        foreach (var file in files)
        {
            Volatile.Write(ref _current, file);
            using (var stream = new FileStream(file, FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0))
            {
                stream.Write(_buffer);
                stream.Flush(flushToDisk: true);
            }

            EnsureWritableByServer(file);
        }
    }

    /// <summary>
    /// pg_rewind and pg_basebackup, run as the server's OS user, copy every file of the data directory over the
    /// target's: a file an agent running as another user (root) created 0644 would make a rejoin fail
    /// ("could not open target file ... Permission denied"). So the file is writable by everyone; the data
    /// directory (0700, the server's user) still keeps everyone else out.
    /// </summary>
    private void EnsureWritableByServer(string file)
    {
        if (OperatingSystem.IsWindows() || _modeSet.Contains(file))
        {
            return;
        }

        const UnixFileMode ReadWriteForAll = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite
                                             | UnixFileMode.OtherRead | UnixFileMode.OtherWrite;
        if (File.GetUnixFileMode(file) != ReadWriteForAll)
        {
            File.SetUnixFileMode(file, ReadWriteForAll);
        }

        _modeSet.Add(file);
    }
}
