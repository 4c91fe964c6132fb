using Fleet.Agent.Archive.Storage;

namespace Fleet.Agent.Tests.Archive;

/// <summary>Counts the files opened through an archive reader (incremental verification must not re-read unchanged files).</summary>
internal sealed class CountingArchiveReader(IArchiveReader inner) : IArchiveReader
{
    private int _opened;

    public int Opened => Volatile.Read(ref _opened);

    public List<string> Names { get; } = [];

    public string Location => inner.Location;

    public Task<IReadOnlyList<ArchiveEntry>> ListAsync(CancellationToken cancellationToken) => inner.ListAsync(cancellationToken);

    public Task<Stream> OpenReadAsync(ArchiveEntry entry, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _opened);
        lock (Names)
        {
            Names.Add(entry.Name);
        }

        return inner.OpenReadAsync(entry, cancellationToken);
    }

    public void Reset()
    {
        Interlocked.Exchange(ref _opened, 0);
        lock (Names)
        {
            Names.Clear();
        }
    }
}
