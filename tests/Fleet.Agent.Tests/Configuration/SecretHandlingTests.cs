using Fleet.Agent.Tests.Host;
using Fleet.Protos.V1;
using Microsoft.Extensions.Options;

namespace Fleet.Agent.Tests.Configuration;

/// <summary>
/// The PostgreSQL password (from Postgres:PasswordEnvironmentVariable or Postgres:PasswordFile) reaches
/// PostgreSQL and nothing else: not the snapshot, GetStatus, /metrics, the role checks, the log, or a
/// configuration error. A fake server asks for the password, so the test can see it was really sent.
/// </summary>
public sealed class SecretHandlingTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(200);

    [Fact]
    public async Task PasswordFromEnvironment_SentToPostgres_NeverShownOnAuthenticationFailure()
    {
        var secret = "env-secret-" + Guid.NewGuid().ToString("N");
        var variable = "FLEET_AGENT_TESTS_PASSWORD_" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable(variable, secret);
        try
        {
            await using var postgres = new FakePostgresServer("28P01", _ => "password authentication failed for user \"fleet\"");
            var settings = Settings(postgres);
            settings["Postgres:PasswordEnvironmentVariable"] = variable;

            var exposed = await RunUntilReportedAsync(settings, "28P01: authentication failed");

            Assert.Contains(secret, postgres.Passwords);
            AssertNotIn(secret, exposed);
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }

    [Fact]
    public async Task PasswordFromFile_FirstLineSent_RedactedWhenTheServerEchoesIt()
    {
        var secret = "file-secret-" + Guid.NewGuid().ToString("N");
        using var file = TempFile.Text(secret + "\nsecond line is not the password\n");
        // A server (or a proxy) that quotes the password back in its error: the agent must scrub it.
        await using var postgres = new FakePostgresServer("08P01", password => $"invalid startup packet near '{password}'");
        var settings = Settings(postgres);
        settings["Postgres:PasswordFile"] = file.Path;

        var exposed = await RunUntilReportedAsync(settings, "08P01: invalid startup packet near '***'");

        Assert.Contains(secret, postgres.Passwords);
        AssertNotIn(secret, exposed);
    }

    [Fact]
    public void Build_InvalidConfigurationWithPasswordFile_ErrorNamesKeysNotThePassword()
    {
        var secret = "file-secret-" + Guid.NewGuid().ToString("N");
        using var file = TempFile.Text(secret);
        var settings = AgentConfigurationTests.Valid();
        settings["Postgres:PasswordFile"] = file.Path;
        settings["Postgres:Port"] = "0";
        settings["Node:Name"] = "";

        var error = Assert.Throws<OptionsValidationException>(() => AgentHost.Build(null, settings));

        Assert.DoesNotContain(secret, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(error.Failures, f => f.Contains(secret, StringComparison.Ordinal));
    }

    private static Dictionary<string, string?> Settings(FakePostgresServer postgres)
    {
        var settings = RunningAgent.BaseSettings("secret-test");
        settings["Postgres:Host"] = "127.0.0.1";
        settings["Postgres:Port"] = postgres.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["Postgres:User"] = "fleet";
        settings["Collection:Interval"] = Interval.ToString();
        settings["Postgres:StatementTimeout"] = (Interval * 4).ToString();
        // Everything, down to Debug, goes to the collected log.
        settings["Logging:LogLevel:Default"] = "Debug";
        return settings;
    }

    /// <summary>Runs an agent until its snapshot reports <paramref name="expectedError"/>; returns every text it exposed meanwhile.</summary>
    private static async Task<List<string>> RunUntilReportedAsync(Dictionary<string, string?> settings, string expectedError)
    {
        await using var agent = await RunningAgent.StartAsync(settings);
        var status = await agent.WaitForStatusAsync(
            s => s.Snapshot?.PostgresError == expectedError, TimeSpan.FromSeconds(30), $"postgres_error '{expectedError}'");
        var collected = await agent.Client.CollectNowAsync();

        Assert.Equal(PostgresState.Unreachable, status.PostgresState);
        Assert.Equal(expectedError, collected.Snapshot.PostgresError);
        return
        [
            status.ToString(),
            collected.ToString(),
            (await agent.GetAsync("/metrics")).Body,
            (await agent.GetAsync("/health")).Body,
            (await agent.GetAsync("/replica")).Body,
            .. agent.Logs.Entries.Select(e => e.ToString()),
        ];
    }

    private static void AssertNotIn(string secret, List<string> exposed)
    {
        Assert.True(exposed.Count > 5, "the agent should have logged something");
        foreach (var text in exposed)
        {
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
        }
    }
}
