using Fleet.Grpc.Tests.EndToEnd;

namespace Fleet.Grpc.Tests.Interop;

/// <summary>Runs every scenario of an independent client once against a Fleet gRPC server (Grpc.AspNetCore, Fleet's wiring).</summary>
public abstract class PeerClientFixture : IAsyncLifetime
{
    private readonly EchoServerFixture _server = new();

    public IReadOnlyDictionary<string, ScenarioResult> Results { get; private set; } = new Dictionary<string, ScenarioResult>();

    public async Task InitializeAsync()
    {
        await _server.InitializeAsync();
        Results = RunClient($"127.0.0.1:{_server.Server.Port}");
        Assert.Empty(_server.Server.Logs.Errors);
    }

    public Task DisposeAsync() => _server.DisposeAsync();

    protected abstract IReadOnlyDictionary<string, ScenarioResult> RunClient(string target);
}

public sealed class PythonClientFixture : PeerClientFixture
{
    protected override IReadOnlyDictionary<string, ScenarioResult> RunClient(string target)
    {
        InteropPeers.RequirePython();
        return InteropPeers.RunClient(InteropPeers.Python, [InteropPeers.PythonClient, "--target", target, "--descriptor-set", InteropPeers.DescriptorSetPath]);
    }
}

public sealed class NodeClientFixture : PeerClientFixture
{
    protected override IReadOnlyDictionary<string, ScenarioResult> RunClient(string target)
    {
        InteropPeers.RequireNode();
        return InteropPeers.RunClient("node", [InteropPeers.NodeClient, "--target", target]);
    }
}

public static class PeerScenarios
{
    /// <summary>Every scenario both peer clients run; see tests/interop/README.md for what each asserts.</summary>
    public static TheoryData<string> All => new()
    {
        "unary", "server_streaming", "client_streaming", "bidi", "error_status", "error_after_messages", "deadline",
        "cancellation", "metadata", "large_message", "oversized_message", "oversized_reply", "gzip", "health", "reflection",
    };
}

public sealed class PythonGrpcioClientTests(PythonClientFixture fixture) : IClassFixture<PythonClientFixture>
{
    [Theory]
    [MemberData(nameof(PeerScenarios.All), MemberType = typeof(PeerScenarios))]
    public void Scenario_PassesAgainstFleetServer(string scenario)
    {
        Assert.True(fixture.Results.TryGetValue(scenario, out var result), $"python client did not run '{scenario}'");
        Assert.True(result.Ok, $"{scenario}: {result.Detail}");
    }
}

public sealed class NodeGrpcJsClientTests(NodeClientFixture fixture) : IClassFixture<NodeClientFixture>
{
    [Theory]
    [MemberData(nameof(PeerScenarios.All), MemberType = typeof(PeerScenarios))]
    public void Scenario_PassesAgainstFleetServer(string scenario)
    {
        Assert.True(fixture.Results.TryGetValue(scenario, out var result), $"node client did not run '{scenario}'");
        Assert.True(result.Ok, $"{scenario}: {result.Detail}");
    }
}
