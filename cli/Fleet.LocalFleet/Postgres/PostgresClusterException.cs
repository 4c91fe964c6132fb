namespace Fleet.LocalFleet.Postgres;

/// <summary>
/// A cluster could not be found, started, driven or torn down. Start-up failures carry the tail of the
/// server logs in <see cref="Exception.Message"/> so CI output shows why without the (deleted) files.
/// </summary>
public sealed class PostgresClusterException : Exception
{
    public PostgresClusterException()
    {
    }

    public PostgresClusterException(string message)
        : base(message)
    {
    }

    public PostgresClusterException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
