namespace Fleet.Agent.Tests.Configuration;

/// <summary>
/// Tests that set FLEET_AGENT_* variables. The environment is process-wide and every AgentHost.Build reads
/// it, so these run alone, after the parallel tests (xunit runs a collection with parallelisation
/// disabled by itself), and restore each variable they touch.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class EnvironmentVariablesGroup
{
    public const string Name = "Configuration: process environment";
}

[Collection(EnvironmentVariablesGroup.Name)]
public sealed class EnvironmentOverrideTests
{
    [Fact]
    public void Build_EnvironmentVariable_WinsOverTheFile()
    {
        using var file = TempFile.Json("""
            { "Node": { "Name": "from-file", "Cluster": "orders", "Region": "kr-central", "Zone": "file-zone" },
              "Collection": { "Interval": "00:00:01", "TopTables": 10 } }
            """);
        using var zone = new EnvironmentVariable("FLEET_AGENT_Node__Zone", "env-zone");
        using var topTables = new EnvironmentVariable("FLEET_AGENT_Collection__TopTables", "25");

        var options = AgentConfigurationTests.BuildOptions(file.Path, null);

        Assert.Equal("env-zone", options.Node.Zone);
        Assert.Equal(25, options.Collection.TopTables);
        Assert.Equal("from-file", options.Node.Name);
        Assert.Equal(TimeSpan.FromSeconds(1), options.Collection.Interval);
    }

    [Fact]
    public void Build_EnvironmentArray_SetsAggregatorEndpoints()
    {
        // A linked agent on the default Unix socket must say where its peers reach it.
        using var file = TempFile.Json("""{ "Node": { "Name": "n", "Cluster": "c", "Region": "r" }, "Replication": { "Host": "10.0.0.5" } }""");
        using var first = new EnvironmentVariable("FLEET_AGENT_Aggregator__Endpoints__0", "https://agg-a:7500");
        using var second = new EnvironmentVariable("FLEET_AGENT_Aggregator__Endpoints__1", "https://agg-b:7500");

        var options = AgentConfigurationTests.BuildOptions(file.Path, null);

        Assert.Equal(["https://agg-a:7500", "https://agg-b:7500"], options.Aggregator.Endpoints);
    }

    [Fact]
    public void Build_OverrideWinsOverEnvironmentVariable()
    {
        using var zone = new EnvironmentVariable("FLEET_AGENT_Node__Zone", "env-zone");
        var settings = AgentConfigurationTests.Valid();
        settings["Node:Zone"] = "override-zone";

        var options = AgentConfigurationTests.BuildOptions(null, settings);

        Assert.Equal("override-zone", options.Node.Zone);
    }

    [Fact]
    public void Build_BadValueFromEnvironment_NamesTheKey()
    {
        using var port = new EnvironmentVariable("FLEET_AGENT_Postgres__Port", "99999");

        var error = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(
            () => AgentHost.Build(null, AgentConfigurationTests.Valid()));

        Assert.Equal(["Postgres:Port must be between 1 and 65535 (got 99999)."], error.Failures);
    }

    [Fact]
    public void Build_UnprefixedVariable_Ignored()
    {
        using var zone = new EnvironmentVariable("Node__Zone", "unprefixed");

        var options = AgentConfigurationTests.BuildOptions(null, AgentConfigurationTests.Valid());

        Assert.Equal("", options.Node.Zone);
    }
}

/// <summary>Sets an environment variable for the duration of a test and restores its previous value.</summary>
internal sealed class EnvironmentVariable : IDisposable
{
    private readonly string _name;
    private readonly string? _previous;

    public EnvironmentVariable(string name, string? value)
    {
        _name = name;
        _previous = Environment.GetEnvironmentVariable(name);
        Environment.SetEnvironmentVariable(name, value);
    }

    public void Dispose() => Environment.SetEnvironmentVariable(_name, _previous);
}
