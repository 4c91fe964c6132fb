using Fleet.Grpc.Tests.Malformed;
using Fleet.Testing;
using Fleet.Testing.Echo;
using Grpc.Core;

namespace Fleet.Grpc.Tests.EndToEnd;

/// <summary>Runs alone: it measures the process's allocations, which tests running alongside would inflate.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AllocationMeasuringCollection
{
    public const string Name = "allocation measuring";
}

/// <summary>
/// A few hundred KB of gzip that inflate to 512 MiB must be refused against the 4 MiB receive limit without
/// the server inflating it all (Grpc.AspNetCore 2.85 bounds decompression by MaxReceiveMessageSize).
/// </summary>
[Collection(AllocationMeasuringCollection.Name)]
public sealed class GzipBombTests(EchoServerFixture fixture) : IClassFixture<EchoServerFixture>, IDisposable
{
    /// <summary>The server may buffer up to the limit (about twice over while its MemoryStream grows), plus pipes and frames.</summary>
    private const long AllocationBudget = 64L * 1024 * 1024;

    private readonly RawGrpcClient _raw = new(fixture.Server.Address);

    [Fact]
    public async Task GzipBomb_IsResourceExhausted_WithoutInflatingIt_AndServerKeepsServing()
    {
        var frame = GzipBomb.Frame;
        Assert.True(frame.Length < 1024 * 1024, $"the bomb is small on the wire ({frame.Length} bytes)");
        // Warm the connection and the server's code paths so the measurement sees only the bomb.
        await AssertEchoesAsync("warm");

        var before = GC.GetTotalAllocatedBytes(precise: true);
        var response = await _raw.PostAsync("/fleet.testing.v1.EchoService/Echo", frame, headers: GzipBomb.Headers).DefaultTimeout();
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;

        Assert.True(StatusCode.ResourceExhausted == response.GrpcStatus, response.ToString());
        Assert.Equal("Received message exceeds the maximum configured message size.", response.GrpcMessage);
        Assert.True(allocated < AllocationBudget, $"the process allocated {allocated:N0} bytes while refusing a {GzipBomb.InflatedSize:N0}-byte message");
        await AssertEchoesAsync("after");
    }

    public void Dispose() => _raw.Dispose();

    private async Task AssertEchoesAsync(string text) =>
        Assert.Equal(text, (await fixture.Client.EchoAsync(new EchoRequest { Text = text }).ResponseAsync.DefaultTimeout()).Text);
}
