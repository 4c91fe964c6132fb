using Fleet.Grpc.Tests.Hosts;
using Fleet.Protos.V1;
using Fleet.Testing;
using Google.Protobuf;

namespace Fleet.Grpc.Tests.Malformed;

/// <summary>The malformed inputs against the real fleet-agent, at AgentService/GetStatus.</summary>
public sealed class AgentMalformedInputTests(AgentHostFixture fixture)
    : MalformedInputTests(new AgentTarget(fixture.Host)), IClassFixture<AgentHostFixture>
{
    private sealed class AgentTarget(RunningHost host) : IMalformedInputTarget
    {
        public Uri Address => host.GrpcAddress;

        public string UnaryPath => "/fleet.v1.AgentService/GetStatus";

        public byte[] ValidRequest => new GetStatusRequest().ToByteArray();

        public async Task AssertStillServingAsync()
        {
            var status = await new AgentService.AgentServiceClient(host.Channel).GetStatusAsync(new GetStatusRequest()).ResponseAsync.DefaultTimeout();
            Assert.Equal("grpc-tests-agent", status.Identity.Name);
            await host.AssertServingAsync().DefaultTimeout();
        }
    }
}

/// <summary>The malformed inputs against the real fleet-aggregator, at FleetService/ListClusters.</summary>
public sealed class AggregatorMalformedInputTests(AggregatorHostFixture fixture)
    : MalformedInputTests(new AggregatorTarget(fixture.Host)), IClassFixture<AggregatorHostFixture>
{
    private sealed class AggregatorTarget(RunningHost host) : IMalformedInputTarget
    {
        public Uri Address => host.GrpcAddress;

        public string UnaryPath => "/fleet.v1.FleetService/ListClusters";

        public byte[] ValidRequest => new ListClustersRequest().ToByteArray();

        public async Task AssertStillServingAsync()
        {
            var clusters = await new FleetService.FleetServiceClient(host.Channel).ListClustersAsync(new ListClustersRequest()).ResponseAsync.DefaultTimeout();
            Assert.Empty(clusters.Clusters);
            await host.AssertServingAsync().DefaultTimeout();
        }
    }
}
