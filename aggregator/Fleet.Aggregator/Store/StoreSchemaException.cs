namespace Fleet.Aggregator.Store;

/// <summary>
/// The database file cannot be used by this version of fleet-aggregator, e.g. its schema is newer
/// than the code knows. Never transient: the process must not start.
/// </summary>
public sealed class StoreSchemaException : Exception
{
    public StoreSchemaException()
    {
    }

    public StoreSchemaException(string message)
        : base(message)
    {
    }

    public StoreSchemaException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
