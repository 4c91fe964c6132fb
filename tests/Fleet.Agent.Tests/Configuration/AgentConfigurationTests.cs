using Fleet.Agent.Configuration;
using Fleet.Agent.Tests.Host;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Fleet.Agent.Tests.Configuration;

/// <summary>
/// AgentHost.Build refuses a bad configuration before anything listens, naming every offending key at
/// once. Nothing here starts an agent: Build validates and returns without binding ports.
/// </summary>
public sealed class AgentConfigurationTests
{
    [Fact]
    public void Build_NoIdentity_ListsNameClusterAndRegionTogether()
    {
        var error = Assert.Throws<OptionsValidationException>(() => AgentHost.Build(null, new Dictionary<string, string?>()));

        Assert.Contains("Node:Name is required.", error.Failures);
        Assert.Contains("Node:Cluster is required.", error.Failures);
        Assert.Contains("Node:Region is required.", error.Failures);
        Assert.Equal(3, error.Failures.Count());
        Assert.Contains("Node:Name", error.Message, StringComparison.Ordinal);
        Assert.Contains("Node:Region", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Postgres:Port", "70000", "Postgres:Port must be between 1 and 65535 (got 70000).")]
    [InlineData("Postgres:Port", "0", "Postgres:Port must be between 1 and 65535 (got 0).")]
    [InlineData("Postgres:Host", " ", "Postgres:Host is required.")]
    [InlineData("Replication:Port", "0", "Replication:Port must be between 1 and 65535 (got 0).")]
    [InlineData("Replication:Host", "/run/postgresql", "Replication:Host '/run/postgresql' must be a host name or IP address other nodes can reach, not a socket directory.")]
    [InlineData("Postgres:User", "", "Postgres:User is required.")]
    [InlineData("Postgres:ConnectTimeout", "00:00:00", "Postgres:ConnectTimeout must be a positive duration (got 00:00:00).")]
    [InlineData("Postgres:LockTimeout", "-00:00:01", "Postgres:LockTimeout must be a positive duration (got -00:00:01).")]
    [InlineData("Postgres:StorageStallTimeout", "00:00:00.500", "Postgres:StorageStallTimeout must be zero (probe off) or at least 1 s (got 00:00:00.5000000): a flush of a few hundred milliseconds is not a stall.")]
    [InlineData("Listen:Grpc", "localhost:7400", "Listen:Grpc 'localhost:7400' must be host:port with an IP address (e.g. 127.0.0.1:7400 or [::1]:7400).")]
    [InlineData("Listen:Http", "0.0.0.0", "Listen:Http '0.0.0.0' must be host:port with an IP address (e.g. 127.0.0.1:7400 or [::1]:7400).")]
    [InlineData("Listen:Http", "127.0.0.1:99999", "Listen:Http '127.0.0.1:99999' must be host:port with an IP address (e.g. 127.0.0.1:7400 or [::1]:7400).")]
    [InlineData("Collection:Interval", "-00:00:01", "Collection:Interval must be a positive duration (got -00:00:01).")]
    [InlineData("Collection:SlowInterval", "00:00:00.500", "Collection:SlowInterval must not be shorter than Collection:Interval.")]
    [InlineData("Collection:TopTables", "0", "Collection:TopTables must be between 1 and 100 (got 0).")]
    [InlineData("Collection:TopTables", "101", "Collection:TopTables must be between 1 and 100 (got 101).")]
    [InlineData("Node:CandidatePriority", "1001", "Node:CandidatePriority must be between 0 and 1000 (got 1001).")]
    [InlineData("Node:CandidatePriority", "-1", "Node:CandidatePriority must be between 0 and 1000 (got -1).")]
    [InlineData("Aggregator:Endpoints:0", "aggregator:7500", "Aggregator:Endpoints:0 'aggregator:7500' must be an absolute http:// or https:// URL.")]
    [InlineData("Aggregator:Endpoints:0", "ftp://aggregator:7500", "Aggregator:Endpoints:0 'ftp://aggregator:7500' must be an absolute http:// or https:// URL.")]
    [InlineData("Aggregator:ReconnectMinDelay", "00:00:00", "Aggregator:ReconnectMinDelay must be a positive duration (got 00:00:00).")]
    [InlineData("Aggregator:ReconnectMaxDelay", "00:00:00.100", "Aggregator:ReconnectMaxDelay must not be shorter than Aggregator:ReconnectMinDelay.")]
    [InlineData("Memory:Gen0Budget", "1000", "Memory:Gen0Budget must be 0 (the runtime's budget) or between 262144 and 268435456 bytes (got 1000).")]
    [InlineData("Memory:Gen0Budget", "-1", "Memory:Gen0Budget must be 0 (the runtime's budget) or between 262144 and 268435456 bytes (got -1).")]
    [InlineData("Memory:MmapThreshold", "100", "Memory:MmapThreshold must be 0 (glibc's default) or between 4096 and 33554432 bytes (got 100).")]
    [InlineData("Memory:TrimGrowth", "4096", "Memory:TrimGrowth must be 0 (compact on schedule only) or between 1048576 and 1073741824 bytes (got 4096).")]
    [InlineData("Memory:CompactInterval", "00:00:05", "Memory:CompactInterval must be 00:00:00 (never) or at least 00:00:10 (got 00:00:05).")]
    [InlineData("Memory:CompactInterval", "-00:01:00", "Memory:CompactInterval must be 00:00:00 (never) or at least 00:00:10 (got -00:01:00).")]
    public void Build_OneBadKey_MessageNamesIt(string key, string value, string expected)
    {
        var settings = Valid();
        settings[key] = value;

        var error = Assert.Throws<OptionsValidationException>(() => AgentHost.Build(null, settings));

        Assert.Equal(expected, error.Failures.First());
    }

    [Fact]
    public void Build_LinkedAgentOnUnixSocketWithoutReplicationHost_IsRefused_WithIt_AdvertisesIt()
    {
        var settings = Valid();
        settings["Aggregator:Endpoints:0"] = "http://127.0.0.1:7300";

        var error = Assert.Throws<OptionsValidationException>(() => AgentHost.Build(null, settings));
        Assert.Equal(
            ["Replication:Host is required when Postgres:Host is a Unix socket directory ('/var/run/postgresql'): the other nodes stream from this node at Replication:Host, and 127.0.0.1 would point them at themselves."],
            error.Failures);

        settings["Replication:Host"] = "10.0.0.7";
        settings["Replication:Port"] = "6432";
        using var app = AgentHost.Build(null, settings);
        var options = app.Services.GetRequiredService<IOptions<AgentOptions>>().Value;
        Assert.Equal(("10.0.0.7", 6432), options.Replication.Resolve(options.Postgres));
    }

    [Fact]
    public void Build_PasswordFileMissing_NamesKeyAndPath()
    {
        var settings = Valid();
        var path = Path.Combine(Path.GetTempPath(), "fleet-agent-tests-" + Guid.NewGuid().ToString("N"), "pgpass");
        settings["Postgres:PasswordFile"] = path;

        var error = Assert.Throws<OptionsValidationException>(() => AgentHost.Build(null, settings));

        Assert.Equal([$"Postgres:PasswordFile '{path}' does not exist."], error.Failures);
    }

    [Fact]
    public void Build_StatementTimeoutNotUnderFiveIntervals_Refused()
    {
        var settings = Valid();
        settings["Collection:Interval"] = "00:00:00.200";
        settings["Postgres:StatementTimeout"] = "00:00:01";

        var error = Assert.Throws<OptionsValidationException>(() => AgentHost.Build(null, settings));

        Assert.Equal(
            ["Postgres:StatementTimeout must be shorter than five collection intervals, or slow queries would stall reporting."], error.Failures);
    }

    [Fact]
    public void Build_TlsCertificateWithoutKeyAndCa_NamesEachMissingFile()
    {
        var settings = Valid();
        var missing = Path.Combine(Path.GetTempPath(), "fleet-agent-tests-" + Guid.NewGuid().ToString("N") + ".pem");
        settings["Tls:CertificateFile"] = missing;

        var error = Assert.Throws<OptionsValidationException>(() => AgentHost.Build(null, settings));

        Assert.Equal(
            [$"Tls:CertificateFile '{missing}' does not exist.", "Tls:KeyFile is required when TLS is enabled.", "Tls:CaFile is required when TLS is enabled."],
            error.Failures);
    }

    [Fact]
    public void Build_SeveralBadKeys_AllReportedAtOnce()
    {
        var settings = Valid();
        settings["Node:Region"] = null;
        settings["Postgres:Port"] = "-5";
        settings["Listen:Grpc"] = "nowhere";
        settings["Collection:Interval"] = "-00:00:01";

        var error = Assert.Throws<OptionsValidationException>(() => AgentHost.Build(null, settings));

        var keys = new[] { "Node:Region", "Postgres:Port", "Listen:Grpc", "Collection:Interval" };
        Assert.All(keys, key => Assert.Contains(error.Failures, f => f.StartsWith(key, StringComparison.Ordinal)));
    }

    [Fact]
    public void Build_ConfigFileDoesNotExist_FileNotFoundNamingThePath()
    {
        var path = Path.Combine(Path.GetTempPath(), "fleet-agent-tests-" + Guid.NewGuid().ToString("N"), "agent.json");

        var error = Assert.Throws<FileNotFoundException>(() => AgentHost.Build(path, Valid()));

        Assert.Equal(path, error.FileName);
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_JsonFile_BindsEveryKnownSection()
    {
        using var file = TempFile.Json("""
            {
              "Node": { "Name": "db-1", "Cluster": "orders", "Region": "kr-central", "Zone": "kr-central-a", "NoFailover": true, "CandidatePriority": 300 },
              "Postgres": { "Host": "/run/postgresql", "Port": 5433, "User": "fleet", "Database": "fleet", "DataDirectory": "/var/lib/postgresql/17/main",
                            "ConnectTimeout": "00:00:03", "StatementTimeout": "00:00:01.500", "LockTimeout": "00:00:00.100", "ManageReplicationTimeouts": false },
              "Replication": { "Host": "db-1.orders.svc", "Port": 6432 },
              "Archive": { "Location": "/archive/orders", "Region": "kr-central" },
              "Aggregator": { "Endpoints": [ "https://agg-1:7500", "https://agg-2:7500" ], "ReconnectMinDelay": "00:00:00.500", "ReconnectMaxDelay": "00:00:30" },
              "Listen": { "Grpc": "127.0.0.1:7401", "Http": "[::1]:8009" },
              "Collection": { "Interval": "00:00:02", "SlowInterval": "00:10:00", "TopTables": 20 },
              "Memory": { "Gen0Budget": 4194304, "CompactInterval": "00:15:00", "TrimGrowth": 8388608, "MmapThreshold": 131072 }
            }
            """);

        var options = BuildOptions(file.Path, null);

        Assert.Equal(("db-1", "orders", "kr-central", "kr-central-a", true, 300),
            (options.Node.Name, options.Node.Cluster, options.Node.Region, options.Node.Zone, options.Node.NoFailover, options.Node.CandidatePriority));
        Assert.Equal(("/run/postgresql", 5433, "fleet", "fleet"), (options.Postgres.Host, options.Postgres.Port, options.Postgres.User, options.Postgres.Database));
        Assert.Equal(TimeSpan.FromMilliseconds(1500), options.Postgres.StatementTimeout);
        Assert.False(options.Postgres.ManageReplicationTimeouts);
        Assert.Equal(("db-1.orders.svc", 6432), options.Replication.Resolve(options.Postgres));
        Assert.Equal("/archive/orders", options.Archive.Location);
        Assert.Equal(["https://agg-1:7500", "https://agg-2:7500"], options.Aggregator.Endpoints);
        Assert.Equal(TimeSpan.FromSeconds(30), options.Aggregator.ReconnectMaxDelay);
        Assert.Equal(("127.0.0.1:7401", "[::1]:8009"), (options.Listen.Grpc, options.Listen.Http));
        Assert.Equal((TimeSpan.FromSeconds(2), TimeSpan.FromMinutes(10), 20), (options.Collection.Interval, options.Collection.SlowInterval, options.Collection.TopTables));
        Assert.Equal((4194304L, TimeSpan.FromMinutes(15), 8388608L, 131072), (options.Memory.Gen0Budget, options.Memory.CompactInterval, options.Memory.TrimGrowth, options.Memory.MmapThreshold));
    }

    [Fact]
    public void Build_OverridesWinOverTheFile()
    {
        using var file = TempFile.Json("""{ "Node": { "Name": "from-file", "Cluster": "c", "Region": "r", "Zone": "file-zone" } }""");

        var options = BuildOptions(file.Path, new Dictionary<string, string?> { ["Node:Zone"] = "override-zone" });

        Assert.Equal("from-file", options.Node.Name);
        Assert.Equal("override-zone", options.Node.Zone);
    }

    [Fact]
    public void Build_Defaults_MatchTheDocumentation()
    {
        var options = BuildOptions(null, new Dictionary<string, string?> { ["Node:Name"] = "n", ["Node:Cluster"] = "c", ["Node:Region"] = "r" });

        Assert.Equal(("127.0.0.1:7400", "0.0.0.0:8008"), (options.Listen.Grpc, options.Listen.Http));
        Assert.Equal(("/var/run/postgresql", 5432, "postgres", "postgres"), (options.Postgres.Host, options.Postgres.Port, options.Postgres.User, options.Postgres.Database));
        Assert.True(options.Postgres.ManageReplicationTimeouts);
        Assert.Equal(("127.0.0.1", 5432), options.Replication.Resolve(options.Postgres)); // standalone on a socket: nobody streams from it
        Assert.Equal((TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(200)),
            (options.Postgres.ConnectTimeout, options.Postgres.StatementTimeout, options.Postgres.LockTimeout));
        Assert.Equal((TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5), 10), (options.Collection.Interval, options.Collection.SlowInterval, options.Collection.TopTables));
        Assert.Equal((TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(10)), (options.Aggregator.ReconnectMinDelay, options.Aggregator.ReconnectMaxDelay));
        Assert.Empty(options.Aggregator.Endpoints);
        Assert.Equal((false, 100, ""), (options.Node.NoFailover, options.Node.CandidatePriority, options.Node.Zone));
        Assert.False(options.Tls.Enabled);
        Assert.Equal((1048576L, TimeSpan.FromMinutes(5), 4194304L, 65536), (options.Memory.Gen0Budget, options.Memory.CompactInterval, options.Memory.TrimGrowth, options.Memory.MmapThreshold));
    }

    [Fact]
    public void Build_MalformedJson_FormatOrJsonErrorNotAStartedHost()
    {
        using var file = TempFile.Json("""{ "Node": { "Name": "x", """);

        var error = Record.Exception(() => AgentHost.Build(file.Path, null));

        Assert.IsType<InvalidDataException>(error);
        Assert.Contains(file.Path, error.Message, StringComparison.Ordinal);
    }

    /// <summary>The options the built host would run with.</summary>
    internal static AgentOptions BuildOptions(string? configFile, IReadOnlyDictionary<string, string?>? overrides)
    {
        var app = AgentHost.Build(configFile, overrides);
        try
        {
            return app.Services.GetRequiredService<IOptions<AgentOptions>>().Value;
        }
        finally
        {
            ((IDisposable)app).Dispose();
        }
    }

    internal static Dictionary<string, string?> Valid() => RunningAgent.BaseSettings("config-test");
}

/// <summary>A JSON file in the temp directory, deleted on dispose.</summary>
internal sealed class TempFile : IDisposable
{
    private TempFile(string path) => Path = path;

    public string Path { get; }

    public static TempFile Json(string content)
    {
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "fleet-agent-tests-" + Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(path, content);
        return new TempFile(path);
    }

    public static TempFile Text(string content)
    {
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "fleet-agent-tests-" + Guid.NewGuid().ToString("N") + ".txt");
        File.WriteAllText(path, content);
        return new TempFile(path);
    }

    public void Dispose() => File.Delete(Path);
}
