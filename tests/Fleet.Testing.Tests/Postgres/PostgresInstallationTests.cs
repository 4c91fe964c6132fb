using Fleet.LocalFleet.Postgres;

namespace Fleet.Testing.Tests.Postgres;

public sealed class PostgresInstallationTests
{
    [Fact]
    public async Task LocateAsync_Default_FindsServerBinariesAndTheirMajorVersion()
    {
        var installation = await PostgresInstallation.LocateAsync().DefaultTimeout();

        Assert.True(File.Exists(Path.Combine(installation.BinDirectory, "initdb")));
        Assert.InRange(installation.MajorVersion, 10, 99);
        Assert.Contains($" {installation.MajorVersion}.", installation.VersionText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LocateAsync_DirectoryWithoutInitdb_SaysWhatIsMissing()
    {
        var error = await Assert.ThrowsAsync<PostgresClusterException>(
            () => PostgresInstallation.LocateAsync(binDirectory: "/nonexistent/bin").DefaultTimeout());

        Assert.Contains("'/nonexistent/bin' (from the options) does not contain initdb", error.Message, StringComparison.Ordinal);
    }
}
