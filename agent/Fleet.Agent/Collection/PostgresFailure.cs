using System.Net.Sockets;
using Fleet.Protos.V1;
using Npgsql;

namespace Fleet.Agent.Collection;

/// <summary>Why a collection failed, as reported in a snapshot: the state and a short reason free of secrets.</summary>
internal readonly record struct PostgresFailure(PostgresState State, string Reason)
{
    /// <summary>
    /// Maps a connection or query failure to a <see cref="PostgresState"/>. Refused TCP connections and
    /// missing Unix sockets mean no postmaster (DOWN); "starting up", "not yet accepting connections" and
    /// crash recovery mean STARTING; "shutting down" and administrator termination mean STOPPING;
    /// timeouts, authentication and anything else we cannot interpret are UNREACHABLE.
    /// </summary>
    public static PostgresFailure Classify(Exception error) => error switch
    {
        PostgresException pg => FromServer(pg),
        TimeoutException => new(PostgresState.Unreachable, "timed out waiting for PostgreSQL"),
        NpgsqlException { InnerException: TimeoutException } => new(PostgresState.Unreachable, "timed out waiting for PostgreSQL"),
        NpgsqlException { InnerException: SocketException socket } => FromSocket(socket),
        NpgsqlException { InnerException: IOException or EndOfStreamException } =>
            new(PostgresState.Down, "connection to PostgreSQL was closed"),
        SocketException socket => FromSocket(socket),
        IOException => new(PostgresState.Down, "connection to PostgreSQL was closed"),
        _ => new(PostgresState.Unreachable, Short(error.Message)),
    };

    private static PostgresFailure FromServer(PostgresException error)
    {
        var reason = $"{error.SqlState}: {Short(error.MessageText)}";
        if (error.InvariantSeverity == "ERROR")
        {
            // A statement failed (statement_timeout, lock_timeout, a missing view): the server answered, so it is up.
            return new(PostgresState.Up, reason);
        }

        return error.SqlState switch
        {
            // cannot_connect_now: "the database system is starting up | shutting down | in recovery mode |
            // not yet accepting connections"
            PostgresErrorCodes.CannotConnectNow => new(
                error.MessageText.Contains("shutting down", StringComparison.OrdinalIgnoreCase)
                    ? PostgresState.Stopping
                    : PostgresState.Starting,
                reason),
            PostgresErrorCodes.AdminShutdown => new(PostgresState.Stopping, reason),
            PostgresErrorCodes.CrashShutdown => new(PostgresState.Starting, reason),
            PostgresErrorCodes.InvalidPassword or PostgresErrorCodes.InvalidAuthorizationSpecification =>
                new(PostgresState.Unreachable, $"{error.SqlState}: authentication failed"),
            _ => new(PostgresState.Unreachable, reason),
        };
    }

    private static PostgresFailure FromSocket(SocketException error) => error.SocketErrorCode switch
    {
        SocketError.ConnectionRefused => new(PostgresState.Down, "connection refused"),
        // A Unix socket path that does not exist (no postmaster) surfaces as AddressNotAvailable or ENOENT.
        SocketError.AddressNotAvailable or SocketError.AddressFamilyNotSupported =>
            new(PostgresState.Down, "socket not found: no postmaster"),
        SocketError.ConnectionReset or SocketError.Shutdown or SocketError.ConnectionAborted =>
            new(PostgresState.Down, "connection reset"),
        SocketError.TimedOut => new(PostgresState.Unreachable, "connect timed out"),
        SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain =>
            new(PostgresState.Unreachable, "host not found"),
        _ => new(PostgresState.Unreachable, $"socket error {error.SocketErrorCode}"),
    };

    /// <summary>One line, at most 200 characters.</summary>
    internal static string Short(string message)
    {
        var line = message.ReplaceLineEndings(" ").Trim();
        return line.Length <= 200 ? line : line[..200] + "…";
    }
}
