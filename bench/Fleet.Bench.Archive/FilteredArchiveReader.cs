using Fleet.Agent.Archive.Storage;

namespace Fleet.Bench.Archive;

/// <summary>The benchmark's view of the archive: exactly the chosen segments.</summary>
internal sealed class FilteredArchiveReader(IArchiveReader inner, IReadOnlySet<string> names) : IArchiveReader
{
    public string Location => inner.Location;

    public async Task<IReadOnlyList<ArchiveEntry>> ListAsync(CancellationToken cancellationToken) =>
        [.. (await inner.ListAsync(cancellationToken)).Where(e => names.Contains(e.Name))];

    public Task<Stream> OpenReadAsync(ArchiveEntry entry, CancellationToken cancellationToken) => inner.OpenReadAsync(entry, cancellationToken);
}
