using System.Net;
using System.Net.Sockets;
using Fleet.Agent.Actions;
using Fleet.Agent.Configuration;
using Fleet.Agent.Tests.Collection;
using Fleet.LocalFleet.Postgres;

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

    private static Task<PingOutcome> PingAsync(PostgresOptions options) => PostgresPing.PingAsync(options, PingTimeout, CancellationToken.None);
}
