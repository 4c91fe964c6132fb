using Fleet.Agent.Collection;
using Fleet.Agent.Configuration;

namespace Fleet.Agent.Tests.Collection;

public sealed class PostgresConnectionFactoryTests : IDisposable
{
    private const string Secret = "s3cr3t-Pa55word";
    private readonly string _variable = "FLEET_TEST_PG_PASSWORD_" + Guid.NewGuid().ToString("N");
    private readonly string _file = Path.GetTempFileName();

    public void Dispose()
    {
        Environment.SetEnvironmentVariable(_variable, null);
        File.Delete(_file);
    }

    [Fact]
    public async Task Build_PasswordFromEnvironment_NeverAppearsInTheConnectionString()
    {
        Environment.SetEnvironmentVariable(_variable, Secret);
        var options = new PostgresOptions { Host = "/run/postgresql", PasswordEnvironmentVariable = _variable };
        await using var factory = new PostgresConnectionFactory(options);

        await using var dataSource = factory.Build("postgres", pooled: true);

        Assert.DoesNotContain(Secret, dataSource.ConnectionString, StringComparison.Ordinal);
        Assert.Contains("Application Name=fleet-agent", dataSource.ConnectionString, StringComparison.Ordinal);
        Assert.Contains("Maximum Pool Size=2", dataSource.ConnectionString, StringComparison.Ordinal);
        Assert.Equal(Secret, PostgresConnectionFactory.ReadPassword(options));
    }

    [Fact]
    public void ReadPassword_File_UsesTheFirstLineOnly()
    {
        File.WriteAllText(_file, Secret + "\r\nsecond line\n");

        Assert.Equal(Secret, PostgresConnectionFactory.ReadPassword(new PostgresOptions { PasswordFile = _file }));
    }

    [Fact]
    public void ReadPassword_EnvironmentVariableUnset_FallsBackToTheFileThenToNone()
    {
        File.WriteAllText(_file, "from-file\n");

        Assert.Equal("from-file", PostgresConnectionFactory.ReadPassword(new PostgresOptions { PasswordEnvironmentVariable = _variable, PasswordFile = _file }));
        Assert.Null(PostgresConnectionFactory.ReadPassword(new PostgresOptions { PasswordEnvironmentVariable = _variable }));
    }

    [Fact]
    public async Task Redact_ReplacesThePassword()
    {
        Environment.SetEnvironmentVariable(_variable, Secret);
        await using var factory = new PostgresConnectionFactory(new PostgresOptions { PasswordEnvironmentVariable = _variable });

        Assert.Equal("failed for *** here", factory.Redact($"failed for {Secret} here"));
    }

    [Fact]
    public void SessionOptions_SetTimeoutsAndReadOnly()
    {
        var options = PostgresConnectionFactory.SessionOptions(new PostgresOptions
        {
            StatementTimeout = TimeSpan.FromSeconds(2),
            LockTimeout = TimeSpan.FromMilliseconds(200),
        });

        Assert.Equal(
            "-c statement_timeout=2000 -c lock_timeout=200 -c idle_in_transaction_session_timeout=10000 -c default_transaction_read_only=on",
            options);
    }
}
