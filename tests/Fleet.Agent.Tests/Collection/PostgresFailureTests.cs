using System.Net.Sockets;
using Fleet.Agent.Collection;
using Fleet.Protos.V1;
using Npgsql;

namespace Fleet.Agent.Tests.Collection;

public sealed class PostgresFailureTests
{
    public static TheoryData<string, Exception, PostgresState> Failures => new()
    {
        { "TCP refused", new NpgsqlException("Failed to connect to 127.0.0.1:5432", new SocketException((int)SocketError.ConnectionRefused)), PostgresState.Down },
        { "Unix socket missing", new NpgsqlException("Failed to connect to /run/pg/.s.PGSQL.5432", new SocketException((int)SocketError.AddressNotAvailable)), PostgresState.Down },
        { "server closed the session", new NpgsqlException("Exception while reading from stream", new EndOfStreamException()), PostgresState.Down },
        { "starting up", Server("FATAL", "57P03", "the database system is starting up"), PostgresState.Starting },
        { "hot standby not consistent yet", Server("FATAL", "57P03", "the database system is not yet accepting connections"), PostgresState.Starting },
        { "shutting down", Server("FATAL", "57P03", "the database system is shutting down"), PostgresState.Stopping },
        { "fast shutdown terminated us", Server("FATAL", "57P01", "terminating connection due to administrator command"), PostgresState.Stopping },
        { "crash of another backend", Server("FATAL", "57P02", "terminating connection because of crash of another server process"), PostgresState.Starting },
        { "wrong password", Server("FATAL", "28P01", "password authentication failed for user \"fleet\""), PostgresState.Unreachable },
        { "unknown role", Server("FATAL", "28000", "role \"nobody\" does not exist"), PostgresState.Unreachable },
        { "too many connections", Server("FATAL", "53300", "sorry, too many clients already"), PostgresState.Unreachable },
        { "connect timeout", new NpgsqlException("The operation has timed out", new TimeoutException()), PostgresState.Unreachable },
        { "statement_timeout: the server answered", Server("ERROR", "57014", "canceling statement due to statement timeout"), PostgresState.Up },
        { "lock_timeout: the server answered", Server("ERROR", "55P03", "canceling statement due to lock timeout"), PostgresState.Up },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public void Classify_MapsTheFailureToAState(string name, Exception error, PostgresState expected)
    {
        var failure = PostgresFailure.Classify(error);

        Assert.True(expected == failure.State, $"{name}: expected {expected}, got {failure.State} ({failure.Reason})");
        Assert.False(string.IsNullOrWhiteSpace(failure.Reason));
    }

    [Fact]
    public void Classify_AuthenticationFailure_GivesAShortReasonWithoutTheServerText()
    {
        var failure = PostgresFailure.Classify(Server("FATAL", "28P01", "password authentication failed for user \"fleet\""));

        Assert.Equal("28P01: authentication failed", failure.Reason);
    }

    [Fact]
    public void Short_LongMultiLineMessage_IsOneLineOfAtMost201Characters()
    {
        var reason = PostgresFailure.Short("first\nsecond " + new string('x', 500));

        Assert.DoesNotContain('\n', reason);
        Assert.InRange(reason.Length, 1, 201);
    }

    private static PostgresException Server(string severity, string sqlState, string message) =>
        new(message, severity, severity, sqlState);
}
