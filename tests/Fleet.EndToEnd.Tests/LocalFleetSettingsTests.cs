using Fleet.EndToEnd.Tests.Infrastructure;
using Npgsql;

namespace Fleet.EndToEnd.Tests;

/// <summary>The local fleet's PostgreSQL is configured as the operating standards want, so it starts healthy.</summary>
[Collection(SharedFleetCollection.Name)]
public sealed class LocalFleetSettingsTests(SharedFleetFixture fixture)
{
    [Fact]
    public async Task Primary_ArchivesAtLeastOnceAMinute_ArchiveModeOn()
    {
        await using var connection = new NpgsqlConnection(fixture.Fleet.Postgres.Primary.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT current_setting('archive_timeout'), current_setting('archive_mode')", connection);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());

        Assert.Equal("1min", reader.GetString(0));
        Assert.Equal("on", reader.GetString(1));
    }
}
