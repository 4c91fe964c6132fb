using Fleet.Aggregator.Failover;
using Fleet.Aggregator.State;
using Fleet.EndToEnd.Tests.Infrastructure;
using Fleet.Protos.V1;
using Fleet.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Fleet.EndToEnd.Tests;

/// <summary>
/// A command whose link closes before the agent answers: the aggregator learns it at once (the stream's end),
/// not after the command's timeout. Found with the Native AOT agent in the network-namespace chaos test: a
/// Rejoin went out on a stream that broke 24 ms later, and the old primary waited out a 5-minute timeout.
/// </summary>
[Collection(SharedFleetCollection.Name)]
public sealed class CommandLinkTests(SharedFleetFixture fixture)
{
    private const string ProbeCluster = "e2e-command-link";

    [Fact]
    public async Task SendAsync_LinkClosesBeforeTheAnswer_FailsAtOnceAsLinkClosed()
    {
        var tracker = fixture.Fleet.Aggregator.Services.GetRequiredService<CommandTracker>();
        using var stream = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var call = fixture.Link.Open(stream.Token);
        await call.RequestStream.WriteAsync(LinkProbe.Hello(ProbeCluster, "node0"));
        Assert.True(await call.ResponseStream.MoveNext(stream.Token), "the aggregator sent no Welcome");
        Assert.NotNull(call.ResponseStream.Current.Welcome);

        // The command goes out with a 5-minute timeout; the probe receives it and drops the stream unanswered. The
        // default test timeout (far shorter) would fail the wait if the tracker waited for the command's own.
        var sending = tracker.SendAsync(new NodeKey(ProbeCluster, "node0"), new AggregatorCommand { Epoch = 1, Fence = new FenceCommand { Mode = FenceMode.ReadOnly } },
            TimeSpan.FromMinutes(5), CancellationToken.None);
        AggregatorCommand? fence = null;
        while (fence is null && await call.ResponseStream.MoveNext(stream.Token))
        {
            fence = call.ResponseStream.Current.Fence is not null ? call.ResponseStream.Current : null;
        }

        Assert.NotNull(fence);
        call.Dispose();

        var closed = await Assert.ThrowsAsync<CommandLinkClosedException>(() => sending.DefaultTimeout());
        Assert.Contains("closed before Fence was answered", closed.Message, StringComparison.Ordinal);
    }
}
