using System.Globalization;
using Fleet.Agent.Configuration;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Fleet.Agent.Collection;

/// <summary>
/// Connections to the local PostgreSQL for collection. The main data source keeps a tiny pool (the
/// agent holds one long-lived session); <see cref="OpenDatabaseSessionAsync"/> gives short-lived,
/// unpooled sessions to other databases for the slow per-database table report. Every session is
/// read-only with statement, lock and idle-in-transaction timeouts, named "fleet-agent", except the one
/// <see cref="OpenSettingsSessionAsync"/> gives for reading pg_settings (see there). The password
/// comes from an environment variable or a file; it never appears in a connection string we expose,
/// a log line or an error message.
/// </summary>
internal sealed class PostgresConnectionFactory : IAsyncDisposable
{
    public const string ApplicationName = "fleet-agent";

    /// <summary>application_name of the liveness probe's session (<see cref="Actions.PostgresLivenessProbe"/>).</summary>
    public const string PingApplicationName = "fleet-agent-ping";

    private readonly PostgresOptions _options;
    private readonly Lazy<NpgsqlDataSource> _main;
    private readonly Lazy<NpgsqlDataSource> _settings;
    private readonly Lazy<NpgsqlDataSource> _ping;
    private readonly UnpooledDataSources _otherDatabases;

    public PostgresConnectionFactory(IOptions<AgentOptions> options)
        : this(options.Value.Postgres)
    {
    }

    internal PostgresConnectionFactory(PostgresOptions options)
    {
        _options = options;
        _main = new Lazy<NpgsqlDataSource>(() => Build(_options.Database, pooled: true), LazyThreadSafetyMode.ExecutionAndPublication);
        _settings = new Lazy<NpgsqlDataSource>(() => Build(_options.Database, pooled: false, sessionOptions: false), LazyThreadSafetyMode.ExecutionAndPublication);
        _ping = new Lazy<NpgsqlDataSource>(() => Build(_options.Database, pooled: false, applicationName: PingApplicationName), LazyThreadSafetyMode.ExecutionAndPublication);
        _otherDatabases = new UnpooledDataSources(SlowQueries.MaxTableDatabases, database => Build(database, pooled: false));
    }

    /// <summary>The configured database name (the one the main session is connected to).</summary>
    public string Database => _options.Database;

    /// <summary>Client-side timeout of a batch: the server's statement_timeout plus a margin for the network.</summary>
    public TimeSpan CommandTimeout => _options.StatementTimeout + TimeSpan.FromSeconds(3);

    /// <summary>Opens (or takes from the pool) a session to the configured database.</summary>
    public ValueTask<NpgsqlConnection> OpenConnectionAsync(CancellationToken cancellationToken) =>
        _main.Value.OpenConnectionAsync(cancellationToken);

    /// <summary>Opens a new unpooled session to <paramref name="database"/>; disposing the lease closes it.</summary>
    public Task<DatabaseSession> OpenDatabaseSessionAsync(string database, CancellationToken cancellationToken) =>
        OpenSessionAsync(_otherDatabases.For(database), cancellationToken);

    /// <summary>
    /// Opens a new unpooled session to the configured database <em>without</em> the agent's session settings,
    /// so that pg_settings shows the values the server runs with (as any plain session of the agent's role
    /// and database sees them), not the agent's own statement_timeout, lock_timeout,
    /// idle_in_transaction_session_timeout and default_transaction_read_only. Only for reading pg_settings,
    /// which reads in-memory state, not tables a workload could lock; the client-side command timeout
    /// still bounds it.
    /// </summary>
    public Task<DatabaseSession> OpenSettingsSessionAsync(CancellationToken cancellationToken) =>
        OpenSessionAsync(_settings.Value, cancellationToken);

    /// <summary>
    /// Opens the liveness probe's own long-lived session ("fleet-agent-ping", unpooled, the agent's session
    /// settings). A cancelled query on it does not wait for the server to acknowledge the cancellation: the
    /// probe abandons the session instead (a frozen server would never answer).
    /// </summary>
    public ValueTask<NpgsqlConnection> OpenPingSessionAsync(CancellationToken cancellationToken) =>
        _ping.Value.OpenConnectionAsync(cancellationToken);

    private static async Task<DatabaseSession> OpenSessionAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken) =>
        new(await dataSource.OpenConnectionAsync(cancellationToken));

    /// <summary>The password, or null when none is configured. Read on every (re)connect so rotation works.</summary>
    internal static string? ReadPassword(PostgresOptions options)
    {
        if (!string.IsNullOrEmpty(options.PasswordEnvironmentVariable))
        {
            var value = Environment.GetEnvironmentVariable(options.PasswordEnvironmentVariable);
            if (!string.IsNullOrEmpty(value))
            {
                return value;
            }
        }

        if (!string.IsNullOrEmpty(options.PasswordFile) && File.Exists(options.PasswordFile))
        {
            using var reader = new StreamReader(options.PasswordFile);
            return reader.ReadLine()?.TrimEnd('\r');
        }

        return null;
    }

    /// <summary>Belt and braces for error texts we report: the password, should it ever appear, becomes "***".</summary>
    public string Redact(string text)
    {
        var password = ReadPassword(_options);
        return string.IsNullOrEmpty(password) ? text : text.Replace(password, "***", StringComparison.Ordinal);
    }

    /// <summary>The session settings sent at start-up (libpq "options").</summary>
    internal static string SessionOptions(PostgresOptions options) => string.Join(
        ' ',
        $"-c statement_timeout={Milliseconds(options.StatementTimeout)}",
        $"-c lock_timeout={Milliseconds(options.LockTimeout)}",
        // A collection session never holds a transaction open; if one ever did, the server ends it.
        $"-c idle_in_transaction_session_timeout={Milliseconds(options.StatementTimeout * 5)}",
        "-c default_transaction_read_only=on");

    internal NpgsqlDataSource Build(string database, bool pooled, bool sessionOptions = true, string applicationName = ApplicationName)
    {
        var builder = new NpgsqlSlimDataSourceBuilder();
        var settings = builder.ConnectionStringBuilder;
        settings.Host = _options.Host;
        settings.Port = _options.Port;
        settings.Username = _options.User;
        settings.Database = database;
        settings.ApplicationName = applicationName;
        if (applicationName == PingApplicationName)
        {
            settings.CancellationTimeout = -1;
        }

        settings.Timeout = Math.Max(1, (int)Math.Ceiling(_options.ConnectTimeout.TotalSeconds));
        settings.CommandTimeout = Math.Max(1, (int)Math.Ceiling(CommandTimeout.TotalSeconds));
        if (sessionOptions)
        {
            settings.Options = SessionOptions(_options);
        }

        settings.PersistSecurityInfo = false;
        settings.IncludeErrorDetail = false;
        settings.TcpKeepAlive = true;
        // Npgsql-level keepalive: an idle session is probed so a dead peer is noticed between cycles.
        settings.KeepAlive = 30;
        settings.Pooling = pooled;
        if (pooled)
        {
            settings.MinPoolSize = 0;
            settings.MaxPoolSize = 2;
        }

        // Every column the agent reads is a built-in type with a fixed OID, so Npgsql need not load the
        // server's type catalogue on each new connection (the slow refresh opens a few every 5 minutes): one
        // round trip and several MB of garbage less per connection.
        builder.ConfigureTypeLoading(typeLoading => typeLoading.EnableTypeLoading(false));

        // Password via a provider, so it is never part of the connection string and is re-read on each
        // physical connect (a rotated password file takes effect without restarting the agent).
        var options = _options;
        builder.UsePasswordProvider(
            _ => ReadPassword(options) ?? string.Empty,
            (_, _) => ValueTask.FromResult(ReadPassword(options) ?? string.Empty));
        return builder.Build();
    }

    public async ValueTask DisposeAsync()
    {
        if (_main.IsValueCreated)
        {
            await _main.Value.DisposeAsync();
        }

        if (_settings.IsValueCreated)
        {
            await _settings.Value.DisposeAsync();
        }

        if (_ping.IsValueCreated)
        {
            await _ping.Value.DisposeAsync();
        }

        await _otherDatabases.DisposeAsync();
    }

    private static string Milliseconds(TimeSpan value) =>
        ((long)Math.Max(1, Math.Ceiling(value.TotalMilliseconds))).ToString(CultureInfo.InvariantCulture);
}

/// <summary>A short-lived, unpooled session to one database; disposing it closes the connection.</summary>
internal sealed class DatabaseSession(NpgsqlConnection connection) : IAsyncDisposable
{
    public NpgsqlConnection Connection { get; } = connection;

    public ValueTask DisposeAsync() => Connection.DisposeAsync();
}

/// <summary>
/// Unpooled data sources per database, built once and reused by every slow refresh: building one runs
/// Npgsql's connection-string machinery (a 10 KB-IL method the JIT would otherwise recompile at its next
/// tier mid-refresh, needing ~13 MB for a few seconds). At most <c>capacity</c> are kept, the least
/// recently used dropped first, so databases that come and go (CI systems) cannot grow it without bound.
/// </summary>
internal sealed class UnpooledDataSources(int capacity, Func<string, NpgsqlDataSource> build) : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, (NpgsqlDataSource Source, long LastUse)> _byDatabase = new(StringComparer.Ordinal);
    private long _uses;

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _byDatabase.Count;
            }
        }
    }

    public NpgsqlDataSource For(string database)
    {
        NpgsqlDataSource? evicted = null;
        NpgsqlDataSource source;
        lock (_lock)
        {
            if (_byDatabase.TryGetValue(database, out var entry))
            {
                source = entry.Source;
            }
            else
            {
                if (_byDatabase.Count >= capacity)
                {
                    var oldest = _byDatabase.MinBy(pair => pair.Value.LastUse);
                    _byDatabase.Remove(oldest.Key);
                    evicted = oldest.Value.Source;
                }

                source = build(database);
            }

            _byDatabase[database] = (source, ++_uses);
        }

        // An unpooled data source holds no connections of its own: disposing it closes nothing in use.
        evicted?.Dispose();
        return source;
    }

    public async ValueTask DisposeAsync()
    {
        List<NpgsqlDataSource> sources;
        lock (_lock)
        {
            sources = [.. _byDatabase.Values.Select(entry => entry.Source)];
            _byDatabase.Clear();
        }

        foreach (var source in sources)
        {
            await source.DisposeAsync();
        }
    }
}
