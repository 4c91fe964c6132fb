using Fleet.Agent.Actions;
using Fleet.Testing;

namespace Fleet.Agent.Tests.Actions;

public sealed class PostmasterOptionsTests
{
    // As PostgreSQL 15 wrote it for a container started with settings on its command line (the sidecar manifest's).
    private const string ContainerStart =
        "/usr/lib/postgresql/15/bin/postgres \"-D\" \"/var/lib/postgresql/data/pgdata\" \"-c\" \"archive_mode=on\" "
        + "\"-c\" \"archive_command=test ! -f /var/lib/postgresql/archive/%f && cp %p /var/lib/postgresql/archive/%f\" \"-c\" \"port=20592\"\n";

    [Fact]
    public void Parse_ContainerCommandLine_KeepsEveryArgumentButTheDataDirectory()
    {
        Assert.Equal(
            ["-c", "archive_mode=on", "-c", "archive_command=test ! -f /var/lib/postgresql/archive/%f && cp %p /var/lib/postgresql/archive/%f", "-c", "port=20592"],
            PostmasterOptions.Parse(ContainerStart));
    }

    [Theory]
    [InlineData("/usr/lib/postgresql/15/bin/postgres\n")]
    [InlineData("/usr/lib/postgresql/15/bin/postgres \"-D\" \"/data\"\n")]
    [InlineData("/usr/lib/postgresql/15/bin/postgres \"-D/data\"")]
    public void Parse_OnlyTheDataDirectory_GivesNothing(string text) => Assert.Empty(PostmasterOptions.Parse(text));

    [Fact]
    public void Parse_QuoteInsideAnArgument_EndsOnlyAtQuoteSpaceQuote()
    {
        Assert.Equal(["-c", "application_name=say \"hi\" there", "-p", "5433"],
            PostmasterOptions.Parse("/pg/bin/postgres \"-c\" \"application_name=say \"hi\" there\" \"-p\" \"5433\""));
    }

    [Fact]
    public void Parse_NotPostgresFormat_Throws() =>
        Assert.Throws<FormatException>(() => PostmasterOptions.Parse("/pg/bin/postgres \"-c"));

    [Fact]
    public void WithPort_ReplacesEveryEarlierPortFlag_SoRepeatedStartsDoNotGrowTheLine()
    {
        var first = PostmasterOptions.WithPort(["-c", "archive_mode=on", "-p", "5432"], 5433);
        var again = PostmasterOptions.WithPort(first, 5433);
        Assert.Equal(["-c", "archive_mode=on", "-p", "5433"], again);
        Assert.Equal(["-c", "wal_log_hints=on", "-p", "7"], PostmasterOptions.WithPort(["-p5432", "-c", "wal_log_hints=on"], 7));
    }

    /// <summary>pg_ctl hands -o to /bin/sh: every argument must come out of a real shell as it went in.</summary>
    [Fact]
    public void ToShell_ThroughARealShell_EachArgumentArrivesWhole()
    {
        string[] arguments = ["-c", "archive_command=test ! -f /a/%f && cp %p /a/%f", "-c", "application_name=it's $HOME `id` \"q\"", "-p", "5433"];
        var output = ExternalCommand.Run("sh", "-c", "printf '%s\\n' " + PostmasterOptions.ToShell(arguments));
        Assert.Equal(arguments, output.TrimEnd('\n').Split('\n'));
    }
}
