using System.Diagnostics;
using System.Globalization;
using System.Text;
using Fleet.Agent.Collection;
using Fleet.Agent.Configuration;
using Fleet.Protos.V1;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Fleet.Agent.Actions;

/// <summary>
/// The role-changing actions on the local PostgreSQL: promote, fence, follow, rejoin. Each confirms its
/// effect and returns the resulting state with step timings; a failure throws with the failing step.
/// docs/failover.md describes each.
/// </summary>
internal sealed class PostgresActions(IOptions<AgentOptions> options, PgToolRunner tools) : IAsyncDisposable
{
    private NpgsqlDataSource? _dataSource;

    private static readonly TimeSpan PromoteTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan StreamTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);

    /// <summary>How often a role change looks for PostgreSQL to have done what it was asked (promoted, stopped).</summary>
    private static readonly TimeSpan FastPoll = TimeSpan.FromMilliseconds(10);

    private PostgresOptions Postgres => options.Value.Postgres;

    public async Task<ActionDetails> PromoteAsync(ulong waitForReplayLsn, IReadOnlyList<string> replicaSlots, CancellationToken cancellationToken)
    {
        var steps = new StepTimer();
        await using var connection = await OpenAsync(cancellationToken);
        if (waitForReplayLsn > 0)
        {
            await steps.RunAsync("wait_replay", () => PollAsync(connection,
                "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", [FormatLsn(waitForReplayLsn)], PromoteTimeout, cancellationToken));
        }

        if (await ScalarAsync<bool>(connection, "SELECT pg_is_in_recovery()", [], cancellationToken))
        {
            await steps.RunAsync("promote", async () =>
            {
                // pg_promote(true) and pg_ctl promote -w look every 100 ms; promotion itself takes a few, and every
                // millisecond here is a millisecond without a writable primary: signal, then look every 10 ms.
                if (!await ScalarAsync<bool>(connection, "SELECT pg_promote(false)", [], cancellationToken))
                {
                    throw new InvalidOperationException("pg_promote could not signal the postmaster to promote");
                }

                await PollAsync(connection, "SELECT NOT pg_is_in_recovery()", [], PromoteTimeout, cancellationToken, FastPoll);
            });
        }

        await steps.RunAsync("replica_slots", async () =>
        {
            foreach (var slot in replicaSlots)
            {
                await ScalarAsync<long>(connection,
                    "SELECT count(pg_create_physical_replication_slot($1, true)) FROM (SELECT 1) s WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1)",
                    [SlotName(slot)], cancellationToken);
            }
        });

        // A fenced (read-only) primary becomes writable again: promotion means "be the writable primary".
        await steps.RunAsync("lift_fence", () => UnfenceAsync(connection, cancellationToken));
        await steps.RunAsync("confirm_write", async () =>
        {
            await using var check = await OpenAsync(cancellationToken);
            await using var transaction = await check.BeginTransactionAsync(cancellationToken);
            await ScalarAsync<long>(check, "SET LOCAL transaction_read_only = off; SELECT txid_current()", [], cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        });
        return await DescribeAsync(connection, steps, fenced: false, rewound: false, cancellationToken);
    }

    public async Task<ActionDetails> FenceAsync(FenceMode mode, CancellationToken cancellationToken)
    {
        var steps = new StepTimer();
        if (mode == FenceMode.Stop)
        {
            await steps.RunAsync("stop", () => StopServerAsync(cancellationToken)); // a server that is not running is fenced already
            return new ActionDetails { Role = NodeRole.Unknown, Fenced = true, Steps = { steps.Steps } };
        }

        await using var connection = await OpenAsync(cancellationToken);
        await steps.RunAsync("read_only", async () =>
        {
            await ExecuteAsync(connection, "ALTER SYSTEM SET default_transaction_read_only = on", cancellationToken);
            await ScalarAsync<bool>(connection, "SELECT pg_reload_conf()", [], cancellationToken);
        });
        await steps.RunAsync("terminate_sessions", () => ScalarAsync<long>(connection,
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
            [], cancellationToken));
        await steps.RunAsync("confirm", async () =>
        {
            await using var check = await OpenAsync(cancellationToken);
            if (await ScalarAsync<string>(check, "SHOW default_transaction_read_only", [], cancellationToken) != "on")
            {
                throw new InvalidOperationException("default_transaction_read_only is still off after reload");
            }
        });
        return await DescribeAsync(connection, steps, fenced: true, rewound: false, cancellationToken);
    }

    public async Task<ActionDetails> FollowAsync(Upstream upstream, CancellationToken cancellationToken)
    {
        var steps = new StepTimer();
        await using var connection = await OpenAsync(cancellationToken);
        await steps.RunAsync("upstream_slot", () => EnsureUpstreamSlotAsync(upstream, cancellationToken));
        await steps.RunAsync("primary_conninfo", async () =>
        {
            var current = await ScalarAsync<string>(connection, "SHOW primary_conninfo", [], cancellationToken) ?? string.Empty;
            var conninfo = ConnInfo.WithUpstream(current, upstream, options.Value.Node.Name);
            await ExecuteAsync(connection, $"ALTER SYSTEM SET primary_conninfo = {ConnInfo.Quote(conninfo)}", cancellationToken);
            // Empty means no slot (common.proto), as in Rejoin: a slot name kept from the old upstream would not
            // exist on the new one, and the WAL receiver would never start.
            await ExecuteAsync(connection, $"ALTER SYSTEM SET primary_slot_name = {ConnInfo.Quote(upstream.SlotName)}", cancellationToken);
            await ScalarAsync<bool>(connection, "SELECT pg_reload_conf()", [], cancellationToken);
        });
        await steps.RunAsync("confirm_streaming", () => ConfirmStreamingAsync(upstream, cancellationToken));
        return await DescribeAsync(connection, steps, fenced: false, rewound: false, cancellationToken);
    }

    public async Task<ActionDetails> RejoinAsync(Upstream upstream, CancellationToken cancellationToken)
    {
        var steps = new StepTimer();
        var data = DataDirectory;
        // A crashed server leaves postmaster.pid behind with a dead pid: nothing to stop; pg_rewind then runs crash
        // recovery itself before rewinding (PostgreSQL 13+).
        await steps.RunAsync("stop", () => StopServerAsync(cancellationToken));
        var source = ConnInfo.WithUpstream($"user={Postgres.User} dbname={Postgres.Database}", upstream, options.Value.Node.Name);
        var rewound = false;

        // pg_rewind reads the source's timeline from its last checkpoint: right after a promotion that is still
        // the old timeline, it answers "no rewind required", and the diverged node could never stream again.
        await steps.RunAsync("checkpoint_upstream", async () =>
        {
            await using var upstreamSession = await OpenUpstreamAsync(upstream, cancellationToken);
            await using var checkpoint = new NpgsqlCommand("CHECKPOINT", upstreamSession.Connection);
            await checkpoint.ExecuteNonQueryAsync(cancellationToken);
        });
        await steps.RunAsync("upstream_slot", () => EnsureUpstreamSlotAsync(upstream, cancellationToken));
        await steps.RunAsync("pg_rewind", async () =>
        {
            var (exit, output) = await tools.RunAsync("pg_rewind", ["--target-pgdata", data, "--source-server", source], TimeSpan.FromMinutes(5), cancellationToken);
            if (exit != 0)
            {
                throw new InvalidOperationException($"pg_rewind failed ({exit}): {Last(output)}");
            }

            rewound = !output.Contains("no rewind required", StringComparison.OrdinalIgnoreCase);
        });
        await steps.RunAsync("standby_config", async () =>
        {
            await File.WriteAllTextAsync(Path.Combine(data, "standby.signal"), string.Empty, cancellationToken);
            var autoConf = Path.Combine(data, "postgresql.auto.conf");
            var lines = File.Exists(autoConf) ? await File.ReadAllLinesAsync(autoConf, cancellationToken) : [];
            var kept = lines.Where(l => !l.TrimStart().StartsWith("primary_conninfo", StringComparison.Ordinal)
                                        && !l.TrimStart().StartsWith("primary_slot_name", StringComparison.Ordinal)
                                        && !l.TrimStart().StartsWith("default_transaction_read_only", StringComparison.Ordinal)).ToList();
            kept.Add($"primary_conninfo = {ConnInfo.Quote(ConnInfo.WithUpstream($"user={Postgres.User}", upstream, options.Value.Node.Name))}");
            if (!string.IsNullOrEmpty(upstream.SlotName))
            {
                kept.Add($"primary_slot_name = {ConnInfo.Quote(upstream.SlotName)}");
            }

            await File.WriteAllLinesAsync(autoConf, kept, cancellationToken);
        });
        await steps.RunAsync("start", () => StartAsync(cancellationToken));
        await using var connection = await OpenAsync(cancellationToken);
        await steps.RunAsync("confirm_streaming", async () =>
        {
            await PollAsync(connection, "SELECT pg_is_in_recovery()", [], StreamTimeout, cancellationToken);
            await ConfirmStreamingAsync(upstream, cancellationToken);
        });
        return await DescribeAsync(connection, steps, fenced: false, rewound, cancellationToken);
    }

    /// <summary>Starts the local server (pg_ctl start -w) on the configured port.</summary>
    /// <summary>
    /// Reads settings from pg_settings as (name, value in the setting's base unit). Used to compare what
    /// runs with what failure detection needs.
    /// </summary>
    public async Task<Dictionary<string, long>> ReadSettingsAsync(IReadOnlyCollection<string> names, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        // One parameter per name: the slim data source has no array support.
        var placeholders = string.Join(", ", names.Select((_, i) => "$" + (i + 1).ToString(CultureInfo.InvariantCulture)));
        await using var command = new NpgsqlCommand($"SELECT name, setting::bigint FROM pg_settings WHERE name IN ({placeholders})", connection);
        foreach (var name in names)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = name });
        }

        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var values = new Dictionary<string, long>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken))
        {
            values[reader.GetString(0)] = reader.GetInt64(1);
        }

        return values;
    }

    /// <summary>
    /// ALTER SYSTEM SET each (name, value) and reload. Names come from Fleet's own fixed list, values are
    /// integers with a unit formatted here: nothing from outside reaches the statement text (ALTER SYSTEM
    /// takes no parameters).
    /// </summary>
    public async Task AlterSystemAsync(IReadOnlyList<(string Name, string Value)> settings, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        foreach (var (name, value) in settings)
        {
            await ExecuteAsync(connection, $"ALTER SYSTEM SET {name} = '{value}'", cancellationToken);
        }

        await ScalarAsync<bool>(connection, "SELECT pg_reload_conf()", [], cancellationToken);
    }

    /// <summary>
    /// Starts the server with the command line it last ran with (<see cref="PostmasterOptions"/>), then the configured
    /// port, which wins: a server its container or service started with settings on the command line keeps them.
    /// </summary>
    public Task StartAsync(CancellationToken cancellationToken) =>
        PgCtlAsync(["start", "-D", DataDirectory, "-w", "-t", "60", "-l", Path.Combine(DataDirectory, "fleet-agent-start.log"),
            "-o", PostmasterOptions.ToShell(PostmasterOptions.WithPort(PostmasterOptions.Read(DataDirectory), Postgres.Port))], cancellationToken);

    private string DataDirectory => Postgres.DataDirectory ?? throw new InvalidOperationException("Postgres:DataDirectory is required for this action.");

    private async Task UnfenceAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        if (await ScalarAsync<string>(connection, "SHOW default_transaction_read_only", [], cancellationToken) == "on")
        {
            await ExecuteAsync(connection, "ALTER SYSTEM RESET default_transaction_read_only", cancellationToken);
            await ScalarAsync<bool>(connection, "SELECT pg_reload_conf()", [], cancellationToken);
        }
    }

    /// <summary>
    /// Fast shutdown, done when the postmaster is gone. Nothing to do when none runs (stopped, or crashed with its
    /// pid file left), and a server that stops by itself meanwhile (another stop: the self-fencing loop's fence
    /// and a Rejoin came 80 ms apart in a chaos run) is stopped, not a failure. pg_ctl stop -w looks every 100 ms
    /// for the postmaster to go; this looks every 10 ms, with pg_ctl's own test (pid file gone, or its process gone).
    /// </summary>
    private async Task StopServerAsync(CancellationToken cancellationToken)
    {
        if (!PostmasterProbe.IsRunning(DataDirectory))
        {
            return;
        }

        var (exit, output) = await tools.RunAsync("pg_ctl", ["stop", "-D", DataDirectory, "-m", "fast", "-W"], TimeSpan.FromSeconds(30), cancellationToken);
        if (exit != 0 && PostmasterProbe.IsRunning(DataDirectory))
        {
            throw new InvalidOperationException($"pg_ctl stop failed ({exit}): {Last(output)}");
        }

        var deadline = Stopwatch.StartNew();
        while (PostmasterProbe.IsRunning(DataDirectory))
        {
            if (deadline.Elapsed > StopTimeout)
            {
                throw new TimeoutException($"PostgreSQL did not stop within {StopTimeout.TotalSeconds:F0} s of a fast shutdown");
            }

            await Task.Delay(FastPoll, cancellationToken);
        }
    }

    private async Task PgCtlAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var (exit, output) = await tools.RunAsync("pg_ctl", arguments, TimeSpan.FromSeconds(90), cancellationToken);
        if (exit != 0)
        {
            throw new InvalidOperationException($"pg_ctl {arguments[0]} failed ({exit}): {Last(output)}");
        }
    }

    /// <summary>
    /// Streaming is confirmed where it counts, on the upstream: its pg_stat_replication shows this node
    /// (application_name) streaming. The local WAL receiver says "streaming" as it starts, even when the
    /// upstream then refuses it (a timeline that is not in its history).
    /// </summary>
    private async Task ConfirmStreamingAsync(Upstream upstream, CancellationToken cancellationToken)
    {
        await using var upstreamSession = await OpenUpstreamAsync(upstream, cancellationToken);
        await PollAsync(upstreamSession.Connection, "SELECT EXISTS (SELECT 1 FROM pg_stat_replication WHERE application_name = $1 AND state = 'streaming')",
            [options.Value.Node.Name], StreamTimeout, cancellationToken);
    }

    /// <summary>
    /// The slot this replica streams through must exist on its upstream: a primary promoted by an operator, or
    /// adopted after an aggregator restart, may not have created it. Created (reserving WAL) when missing.
    /// </summary>
    private async Task EnsureUpstreamSlotAsync(Upstream upstream, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(upstream.SlotName))
        {
            return;
        }

        await using var upstreamSession = await OpenUpstreamAsync(upstream, cancellationToken);
        await ScalarAsync<bool>(upstreamSession.Connection,
            // CASE, not OR: only CASE promises the creation is not evaluated when the slot exists.
            "SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1) THEN true ELSE (SELECT true FROM pg_create_physical_replication_slot($1, true)) END",
            [upstream.SlotName], cancellationToken);
    }

    /// <summary>A session on the upstream with this agent's own credentials (it needs pg_monitor there, and CHECKPOINT rights for Rejoin).</summary>
    private async Task<UpstreamSession> OpenUpstreamAsync(Upstream upstream, CancellationToken cancellationToken)
    {
        var builder = new NpgsqlConnectionStringBuilder(BuildConnectionString())
        {
            Host = upstream.Host,
            Port = (int)upstream.Port,
            ApplicationName = "fleet-agent-action-" + options.Value.Node.Name,
        };
        // A slim source, as everywhere in the agent: `new NpgsqlConnection(string)` would bring Npgsql's full
        // type-mapping set into the Native AOT binary for this one session.
        var source = new NpgsqlSlimDataSourceBuilder(builder.ConnectionString).Build();
        try
        {
            return new UpstreamSession(source, await source.OpenConnectionAsync(cancellationToken));
        }
        catch
        {
            await source.DisposeAsync();
            throw;
        }
    }

    /// <summary>An unpooled session on the upstream and the source it came from, closed together.</summary>
    private sealed record UpstreamSession(NpgsqlDataSource Source, NpgsqlConnection Connection) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Connection.DisposeAsync();
            await Source.DisposeAsync();
        }
    }

    private ValueTask<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        _dataSource ??= BuildDataSource();
        return _dataSource.OpenConnectionAsync(cancellationToken);
    }

    /// <summary>A read-write, unpooled source (the collector's session is read-only by design).</summary>
    private NpgsqlDataSource BuildDataSource() => new NpgsqlSlimDataSourceBuilder(BuildConnectionString()).Build();

    private string BuildConnectionString()
    {
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = Postgres.Host,
            Port = Postgres.Port,
            Username = Postgres.User,
            Database = Postgres.Database,
            ApplicationName = "fleet-agent-action",
            Timeout = Math.Max(1, (int)Postgres.ConnectTimeout.TotalSeconds),
            CommandTimeout = 30,
            Pooling = false,
            PersistSecurityInfo = false,
            Password = PostgresConnectionFactory.ReadPassword(Postgres),
        };
        return builder.ConnectionString;
    }

    public async ValueTask DisposeAsync()
    {
        if (_dataSource is not null)
        {
            await _dataSource.DisposeAsync();
        }
    }

    private static async Task<ActionDetails> DescribeAsync(NpgsqlConnection connection, StepTimer steps, bool fenced, bool rewound, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            "SELECT pg_is_in_recovery(), CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END::text, " +
            "(SELECT timeline_id FROM pg_control_checkpoint()), CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_walfile_name(pg_current_wal_lsn()) END",
            connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var inRecovery = reader.GetBoolean(0);
        var lsnText = reader.IsDBNull(1) ? "0/0" : reader.GetString(1);
        var details = new ActionDetails
        {
            Role = inRecovery ? NodeRole.Replica : NodeRole.Primary,
            Fenced = fenced,
            LsnText = lsnText,
            Lsn = ParseLsn(lsnText),
            Rewound = rewound,
        };
        // The WAL file name starts with the current timeline: exact right after a promotion, unlike pg_control.
        details.Timeline = !reader.IsDBNull(3) ? uint.Parse(reader.GetString(3)[..8], NumberStyles.HexNumber, CultureInfo.InvariantCulture) : (uint)reader.GetInt32(2);
        details.Steps.AddRange(steps.Steps);
        return details;
    }

    private static async Task PollAsync(NpgsqlConnection connection, string sql, object[] parameters, TimeSpan timeout, CancellationToken cancellationToken, TimeSpan? interval = null)
    {
        var deadline = Stopwatch.StartNew();
        while (!await ScalarAsync<bool>(connection, sql, parameters, cancellationToken))
        {
            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException($"not confirmed within {timeout.TotalSeconds:F0} s: {sql}");
            }

            await Task.Delay(interval ?? TimeSpan.FromMilliseconds(50), cancellationToken);
        }
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql, object[] parameters, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }

        var result = await command.ExecuteScalarAsync(cancellationToken);
        return (T)result!;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Slot names allow only [a-z0-9_]; node names may have more.</summary>
    public static string SlotName(string node) =>
        new([.. node.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_')]);

    public static string FormatLsn(ulong lsn) => $"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}";

    public static ulong ParseLsn(string text)
    {
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? 0 : (ulong.Parse(text[..slash], NumberStyles.HexNumber, CultureInfo.InvariantCulture) << 32)
                                | ulong.Parse(text[(slash + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    }

    private static string Last(string output) => output.Length <= 500 ? output : output[^500..];

    /// <summary>Times named steps for the action's result.</summary>
    private sealed class StepTimer
    {
        public List<ActionStep> Steps { get; } = [];

        public async Task RunAsync(string name, Func<Task> step)
        {
            var watch = Stopwatch.StartNew();
            try
            {
                await step();
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                throw new InvalidOperationException($"step {name} failed: {ex.Message}", ex);
            }

            Steps.Add(new ActionStep { Name = name, DurationMs = (ulong)watch.ElapsedMilliseconds });
        }
    }
}

/// <summary>libpq connection strings for primary_conninfo and pg_rewind, built safely.</summary>
internal static class ConnInfo
{
    /// <summary>Keeps every setting of <paramref name="current"/> but host and port, which come from the upstream.</summary>
    public static string WithUpstream(string current, Upstream upstream, string applicationName)
    {
        ValidateHost(upstream.Host);
        if (upstream.Port is 0 or > 65535)
        {
            throw new ArgumentException($"upstream port {upstream.Port} is invalid");
        }

        var kept = Parse(current).Where(p => p.Key is not ("host" or "hostaddr" or "port" or "application_name")).ToList();
        kept.Add(new("host", upstream.Host));
        kept.Add(new("port", upstream.Port.ToString(CultureInfo.InvariantCulture)));
        kept.Add(new("application_name", applicationName));
        return string.Join(' ', kept.Select(p => $"{p.Key}={QuoteValue(p.Value)}"));
    }

    /// <summary>A SQL string literal (standard_conforming_strings): single quotes doubled.</summary>
    public static string Quote(string value)
    {
        if (value.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException("value contains NUL");
        }

        return "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";
    }

    private static void ValidateHost(string host)
    {
        if (string.IsNullOrEmpty(host) || host.Length > 255 || !host.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or ':' or '_' or '/'))
        {
            throw new ArgumentException($"upstream host '{host}' is not a valid host name, address or socket directory");
        }
    }

    private static string QuoteValue(string value) =>
        value.Length > 0 && value.All(c => !char.IsWhiteSpace(c) && c is not '\'' and not '\\')
            ? value
            : "'" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "'";

    private static List<KeyValuePair<string, string>> Parse(string conninfo)
    {
        var pairs = new List<KeyValuePair<string, string>>();
        var i = 0;
        while (i < conninfo.Length)
        {
            while (i < conninfo.Length && char.IsWhiteSpace(conninfo[i]))
            {
                i++;
            }

            var eq = conninfo.IndexOf('=', i);
            if (eq < 0)
            {
                break;
            }

            var key = conninfo[i..eq].Trim();
            i = eq + 1;
            var value = new StringBuilder();
            if (i < conninfo.Length && conninfo[i] == '\'')
            {
                i++;
                while (i < conninfo.Length && conninfo[i] != '\'')
                {
                    if (conninfo[i] == '\\' && i + 1 < conninfo.Length)
                    {
                        i++;
                    }

                    value.Append(conninfo[i++]);
                }

                i++;
            }
            else
            {
                while (i < conninfo.Length && !char.IsWhiteSpace(conninfo[i]))
                {
                    value.Append(conninfo[i++]);
                }
            }

            pairs.Add(new(key, value.ToString()));
        }

        return pairs;
    }
}
