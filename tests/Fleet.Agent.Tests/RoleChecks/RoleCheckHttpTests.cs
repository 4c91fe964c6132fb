using System.Text.Json;
using Fleet.Agent.Tests.Host;

namespace Fleet.Agent.Tests.RoleChecks;

/// <summary>
/// The role checks as a load balancer sees them: real HTTP/1.1 against real agents of a real primary
/// (node0) and streaming replica (node1). GET, HEAD and OPTIONS answer alike: HAProxy's
/// <c>option httpchk</c> sends OPTIONS unless told otherwise.
/// </summary>
[Collection(SharedClusterAgentsGroup.Name)]
public sealed class RoleCheckHttpTests(SharedClusterAgentsFixture fixture)
{
    public static readonly TheoryData<string, string, int> Expected = new()
    {
        { "node0", "/primary", 200 },
        { "node0", "/master", 200 },
        { "node0", "/leader", 200 },
        { "node0", "/read-write", 200 },
        { "node0", "/replica", 503 },
        { "node0", "/read-only", 200 },
        { "node0", "/health", 200 },
        { "node1", "/primary", 503 },
        { "node1", "/master", 503 },
        { "node1", "/leader", 503 },
        { "node1", "/read-write", 503 },
        { "node1", "/replica", 200 },
        { "node1", "/read-only", 200 },
        { "node1", "/health", 200 },
    };

    [Theory]
    [MemberData(nameof(Expected))]
    public async Task Get_EachPathOnEachNode_AnswersByRole(string node, string path, int expected)
    {
        var (status, body) = await Agent(node).GetAsync(path);

        Assert.True(expected == status, $"GET {path} on {node}: {status} {body}");
    }

    [Theory]
    [MemberData(nameof(Expected))]
    public async Task HeadAndOptions_SameStatusAsGet(string node, string path, int expected)
    {
        var (head, headBody) = await Agent(node).HttpAsync(HttpMethod.Head, path);
        var (options, _) = await Agent(node).HttpAsync(HttpMethod.Options, path);

        Assert.Equal(expected, head);
        Assert.Equal(expected, options);
        Assert.Equal("", headBody);
    }

    [Fact]
    public async Task Get_Primary_JsonBodyHasStateRoleReasonTimeline()
    {
        var (status, body) = await fixture.PrimaryAgent.GetAsync("/primary");

        Assert.Equal(200, status);
        using var json = JsonDocument.Parse(body);
        var root = json.RootElement;
        Assert.Equal("running", root.GetProperty("state").GetString());
        Assert.Equal("primary", root.GetProperty("role").GetString());
        Assert.Equal("writable primary", root.GetProperty("reason").GetString());
        Assert.Equal(1U, root.GetProperty("timeline").GetUInt32());
        Assert.Equal(0UL, root.GetProperty("replay_backlog_bytes").GetUInt64());
    }

    [Fact]
    public async Task Get_PrimaryOnReplica_503WithRoleAndReason()
    {
        using var response = await fixture.ReplicaAgent.Http.GetAsync("/primary").WaitAsync(RunningAgent.CallTimeout);
        var body = await response.Content.ReadAsStringAsync().WaitAsync(RunningAgent.CallTimeout);

        Assert.Equal(503, (int)response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(body);
        Assert.Equal("unavailable", json.RootElement.GetProperty("state").GetString());
        Assert.Equal("replica", json.RootElement.GetProperty("role").GetString());
        Assert.Equal("node is not the primary", json.RootElement.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Get_ReplicaWithGenerousLag_200()
    {
        var (status, body) = await fixture.ReplicaAgent.GetAsync("/replica?lag=1073741824");

        Assert.True(status == 200, body);
        using var json = JsonDocument.Parse(body);
        Assert.Equal("streaming replica", json.RootElement.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Get_ReplicaWithLagInUnits_AsPatroniAccepts_200()
    {
        var (status, body) = await fixture.ReplicaAgent.GetAsync("/replica?lag=1GB");

        Assert.True(status == 200, body);
    }

    [Theory]
    [InlineData("/replica?lag=abc")]
    [InlineData("/replica?lag=-1")]
    [InlineData("/replica?lag=")]
    [InlineData("/replica?lag=16XB")]
    [InlineData("/replica?lag=99999999999TB")]
    [InlineData("/read-only?lag=1.5")]
    public async Task Get_LagNotWholeBytes_400(string path)
    {
        var (status, body) = await fixture.ReplicaAgent.GetAsync(path);

        Assert.Equal(400, status);
        Assert.Contains("lag must be a whole number of bytes", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_UnknownPath_404()
    {
        var (status, _) = await fixture.PrimaryAgent.GetAsync("/standby-leader");

        Assert.Equal(404, status);
    }

    private RunningAgent Agent(string node) => node == "node0" ? fixture.PrimaryAgent : fixture.ReplicaAgent;
}
