using Fleet.Agent.Collection;
using Fleet.Agent.Configuration;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Fleet.Agent.Actions;

/// <summary>
/// Answers "does PostgreSQL answer?" every ping without costing the server a fork each time. One dedicated,
/// long-lived session ("fleet-agent-ping") runs <c>SELECT 1</c>: a frozen or stalled server leaves it
/// unanswered just as it leaves a new connection unanswered. Only without a healthy session (at start, after
/// any failure on it) does the probe fall back to <see cref="PostgresPing"/>, a fresh connection's SSLRequest,
/// which tells "refused" (not running) from "no answer" but makes the postmaster fork a backend: about 18 ms
/// of server CPU on the benchmark machine, 36 ms a second at two pings a second. A session that cannot be
/// opened (a wrong password, no connection slot) is tried again at most every <see cref="SessionRetry"/>, so
/// a misconfigured agent does not fill the server log.
/// </summary>
/// <remarks>
/// The deadline is the probe's own, never Npgsql's: cancelling a query through Npgsql sends a cancel request on
/// a new connection and waits for the postmaster to close it, which a frozen postmaster does not do; and closing
/// a connection whose query is in flight waits for the query. So a query that misses its deadline stays
/// outstanding: every later ping waits on it again (it is the server's answer the probe wants, not a new
/// question), reports no answer until it completes, and the session is given up only once it fails (the server
/// was killed or stopped, or Npgsql's command timeout broke the connection).
/// </remarks>
internal sealed class PostgresLivenessProbe(PostgresConnectionFactory connections, IOptions<AgentOptions> options, TimeProvider time) : IAsyncDisposable
{
    public static readonly TimeSpan SessionRetry = TimeSpan.FromSeconds(30);

    /// <summary>
    /// One row whatever the role: the receiver's status, NULL without a receiver (or for a user without
    /// pg_read_all_stats, who sees no details: then the collection alone reports the receiver, as before).
    /// </summary>
    internal const string PingQuery = "SELECT (SELECT status FROM pg_stat_wal_receiver)";

    private NpgsqlConnection? _session;
    private NpgsqlCommand? _select;
    private Task<object?>? _outstanding;
    private DateTimeOffset _nextSessionAttempt = DateTimeOffset.MinValue;

    /// <summary>True while pings go over the long-lived session (no new connection per ping).</summary>
    public bool HasSession => _session is not null;

    /// <summary>True while a query on the session has not been answered (the server is frozen or stalled).</summary>
    public bool HasOutstandingQuery => _outstanding is { IsCompleted: false };

    /// <summary>
    /// The WAL receiver's status as the last answered ping read it over the session ("streaming", "waiting", …;
    /// empty without a receiver, as on a primary); null when the last ping did not answer over the session.
    /// The ping's query reads it from shared memory at no extra cost, so a replica notices a lost upstream
    /// within one ping instead of its next collection.
    /// </summary>
    public string? WalReceiverStatus { get; private set; }

    public async Task<PingOutcome> PingAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (_select is { } select)
        {
            var query = _outstanding ??= select.ExecuteScalarAsync(CancellationToken.None);
            try
            {
                var answer = await query.WaitAsync(timeout, time, cancellationToken);
                _outstanding = null;
                WalReceiverStatus = answer as string ?? string.Empty;
                return PingOutcome.Answered;
            }
            catch (TimeoutException)
            {
                WalReceiverStatus = null;
                return PingOutcome.NoAnswer;
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException or IOException)
            {
                // The session broke (server stopped, backend terminated, connection reset): a fresh connection tells why.
                _outstanding = null;
                await DropSessionAsync();
            }
        }

        WalReceiverStatus = null;
        var outcome = await PostgresPing.PingAsync(options.Value.Postgres, timeout, cancellationToken);
        if (outcome == PingOutcome.Answered && time.GetUtcNow() >= _nextSessionAttempt)
        {
            await TryOpenSessionAsync(cancellationToken);
        }

        return outcome;
    }

    private async Task TryOpenSessionAsync(CancellationToken cancellationToken)
    {
        try
        {
            // Bounded by the connect timeout; no cancel request is involved before a session exists.
            var session = await connections.OpenPingSessionAsync(cancellationToken);
            (_session, _select) = (session, new NpgsqlCommand(PingQuery, session));
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            // The fallback ping keeps working meanwhile; the next attempt waits.
            _nextSessionAttempt = time.GetUtcNow() + SessionRetry;
        }
    }

    private async Task DropSessionAsync()
    {
        var (session, select) = (_session, _select);
        (_session, _select) = (null, null);
        if (select is not null)
        {
            await select.DisposeAsync();
        }

        if (session is not null)
        {
            await session.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Closing under an unanswered query would wait for a frozen server; the process is stopping, and its
        // exit closes the socket.
        if (!HasOutstandingQuery)
        {
            await DropSessionAsync();
        }
    }
}
