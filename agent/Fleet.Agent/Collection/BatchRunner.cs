using Npgsql;

namespace Fleet.Agent.Collection;

/// <summary>
/// Executes collection batches and counts them: every round trip the collector makes to PostgreSQL
/// (besides opening a session) goes through here, so tests can assert how many a cycle took.
/// </summary>
internal sealed class BatchRunner
{
    private long _executed;
    private int _inFlight;
    private int _maxInFlight;

    /// <summary>Batches executed since start.</summary>
    public long Executed => Interlocked.Read(ref _executed);

    /// <summary>The most batches ever in flight at once; collections are serialised, so this stays 1.</summary>
    public int MaxInFlight => Volatile.Read(ref _maxInFlight);

    /// <summary>Runs <paramref name="batch"/> and hands its reader to <paramref name="read"/>.</summary>
    public async Task<T> RunAsync<T>(NpgsqlBatch batch, Func<NpgsqlDataReader, Task<T>> read, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _executed);
        var inFlight = Interlocked.Increment(ref _inFlight);
        try
        {
            int max;
            while (inFlight > (max = Volatile.Read(ref _maxInFlight)) &&
                   Interlocked.CompareExchange(ref _maxInFlight, inFlight, max) != max)
            {
            }

            await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
            return await read(reader);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }
}
