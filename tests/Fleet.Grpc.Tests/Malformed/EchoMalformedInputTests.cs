using Fleet.Grpc.Tests.EndToEnd;
using Fleet.Testing;
using Fleet.Testing.Echo;
using Google.Protobuf;
using Grpc.Core;

namespace Fleet.Grpc.Tests.Malformed;

/// <summary>The malformed inputs against the echo test server (Fleet's gRPC wiring, no daemon around it).</summary>
public sealed class EchoMalformedInputTests(EchoServerFixture fixture)
    : MalformedInputTests(new EchoTarget(fixture)), IClassFixture<EchoServerFixture>
{
    [Fact]
    public async Task ResetMidStream_DoesNotDisturbOtherCalls()
    {
        using var cts = new CancellationTokenSource();
        using var doomed = fixture.Client.Chat(cancellationToken: cts.Token);
        await doomed.RequestStream.WriteAsync(new EchoRequest { Text = "a" }).DefaultTimeout();
        Assert.True(await doomed.ResponseStream.MoveNext().DefaultTimeout());

        await cts.CancelAsync();

        await new EchoTarget(fixture).AssertStillServingAsync();
    }

    private sealed class EchoTarget(EchoServerFixture fixture) : IMalformedInputTarget
    {
        public Uri Address => fixture.Server.Address;

        public string UnaryPath => "/fleet.testing.v1.EchoService/Echo";

        public byte[] ValidRequest => new EchoRequest { Text = "valid" }.ToByteArray();

        public async Task AssertStillServingAsync()
        {
            var reply = await fixture.Client.EchoAsync(new EchoRequest { Text = "still here" }).ResponseAsync.DefaultTimeout();
            Assert.Equal("still here", reply.Text);
        }
    }
}
