using System.Net;
using System.Net.Sockets;
using Fleet.Agent.Actions;
using Fleet.Agent.Collection;
using Fleet.Agent.Configuration;
using Fleet.Agent.Tests.Collection;
using Fleet.LocalFleet.Postgres;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Fleet.Agent.Tests.Actions;

/// <summary>The protocol ping and the kill, against a real server: answered, refused, frozen (SIGSTOP), killed.</summary>
public sealed class PostgresPingTests(LonePrimaryFixture fixture) : IClassFixture<LonePrimaryFixture>
{
    private static readonly TimeSpan PingTimeout = TimeSpan.FromMilliseconds(500);

    private IPostgresNode Primary => fixture.Cluster.Primary;

    [Fact]
    public async Task Ping_RunningServer_AnsweredOverTcpAndUnixSocket()
    {
        Assert.Equal(PingOutcome.Answered, await PingAsync(new PostgresOptions { Host = Primary.Host, Port = Primary.Port }));
        Assert.Equal(PingOutcome.Answered, await PingAsync(new PostgresOptions { Host = fixture.Cluster.RootDirectory, Port = Primary.Port }));
    }

    [Fact]
    public async Task Ping_NothingListening_Refused_NotUnanswered()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var freePort = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        Assert.Equal(PingOutcome.Refused, await PingAsync(new PostgresOptions { Host = "127.0.0.1", Port = freePort }));
        Assert.Equal(PingOutcome.Refused, await PingAsync(new PostgresOptions { Host = "/nonexistent-" + Guid.NewGuid().ToString("N"), Port = 5432 }));
    }

    [Fact]
    public async Task Ping_FrozenServer_NoAnswer_ThenKillWithChildren_LeavesNothingRunning()
    {
        var frozen = Primary.Freeze();
        try
        {
            Assert.True(frozen >= 3, $"only {frozen} processes frozen");
            // The kernel still completes the handshake from the listen backlog: only the missing byte tells.
            Assert.Equal(PingOutcome.NoAnswer, await PingAsync(new PostgresOptions { Host = Primary.Host, Port = Primary.Port }));
            Assert.Equal(PingOutcome.NoAnswer, await PingAsync(new PostgresOptions { Host = fixture.Cluster.RootDirectory, Port = Primary.Port }));

            var killed = PostmasterProbe.KillWithChildren(Primary.DataDirectory);

            Assert.Equal(frozen, killed);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            while (Primary.IsRunning && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }

            Assert.False(Primary.IsRunning, "the postmaster survived SIGKILL");
            // The agent's own probe agrees: a pid file naming a process that is gone (or a zombie until reaped).
            var pidFile = Path.Combine(Primary.DataDirectory, "postmaster.pid");
            while (!PostmasterProbe.IsDead(Primary.DataDirectory) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }

            Assert.True(PostmasterProbe.IsDead(Primary.DataDirectory), $"the probe does not see the killed postmaster as dead (pid file present: {File.Exists(pidFile)})");
        }
        finally
        {
            Primary.Thaw();
            await Primary.StartAsync().WaitAsync(TimeSpan.FromSeconds(90));
        }

        Assert.Equal(PingOutcome.Answered, await PingAsync(new PostgresOptions { Host = Primary.Host, Port = Primary.Port }));
    }

    [Fact]
    public async Task LivenessProbe_OneLongLivedSessionAnswersEveryPing_FrozenNoAnswer_StoppedRefused_ThenBack()
    {
        // A long connect timeout: a ping that cancelled its query through Npgsql would wait that long for the
        // frozen postmaster to take the cancel request, and answer only after the freeze.
        var postgres = new PostgresOptions { Host = Primary.Host, Port = Primary.Port, ConnectTimeout = TimeSpan.FromSeconds(20) };
        await using var connections = new PostgresConnectionFactory(postgres);
        await using var probe = new PostgresLivenessProbe(connections, Options.Create(new AgentOptions { Postgres = postgres }), TimeProvider.System);

        // Answered, and every ping after the first goes over one session: no backend forked per ping.
        Assert.Equal(PingOutcome.Answered, await probe.PingAsync(PingTimeout, CancellationToken.None));
        Assert.True(probe.HasSession, "no session after a first answered ping");
        var backends = await PingBackendsAsync();
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(PingOutcome.Answered, await probe.PingAsync(PingTimeout, CancellationToken.None));
        }

        Assert.Single(backends);
        Assert.Equal(backends, await PingBackendsAsync());

        // Frozen: the session's query goes unanswered within the timeout, every ping; it stays outstanding.
        Primary.Freeze();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                Assert.Equal(PingOutcome.NoAnswer, await probe.PingAsync(PingTimeout, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)));
                Assert.True(probe.HasOutstandingQuery, "the unanswered query was given up while the server is frozen");
            }
        }
        finally
        {
            Primary.Thaw();
        }

        // Thawed: the outstanding query is answered on the same session.
        Assert.Equal(PingOutcome.Answered, await probe.PingAsync(TimeSpan.FromSeconds(5), CancellationToken.None));
        Assert.False(probe.HasOutstandingQuery);
        Assert.Equal(backends, await PingBackendsAsync());

        // Stopped: the broken session falls back to a fresh connection, which is refused.
        await Primary.StopAsync(PostgresStopMode.Fast).WaitAsync(TimeSpan.FromSeconds(60));
        try
        {
            Assert.Equal(PingOutcome.Refused, await probe.PingAsync(PingTimeout, CancellationToken.None));
            Assert.False(probe.HasSession);
        }
        finally
        {
            await Primary.StartAsync().WaitAsync(TimeSpan.FromSeconds(90));
        }

        Assert.Equal(PingOutcome.Answered, await probe.PingAsync(PingTimeout, CancellationToken.None));
    }

    private async Task<List<int>> PingBackendsAsync()
    {
        await using var connection = await Primary.OpenConnectionAsync();
        await using var command = new NpgsqlCommand("SELECT pid FROM pg_stat_activity WHERE application_name = $1 ORDER BY pid", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = PostgresConnectionFactory.PingApplicationName });
        var pids = new List<int>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            pids.Add(reader.GetInt32(0));
        }

        return pids;
    }

    private static Task<PingOutcome> PingAsync(PostgresOptions options) => PostgresPing.PingAsync(options, PingTimeout, CancellationToken.None);
}
