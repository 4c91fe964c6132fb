using Fleet.Rpc.Server;
using Grpc.Health.V1;

namespace Fleet.Rpc.Health;

/// <summary>grpc.health.v1.Health over <see cref="HealthStatusRegistry"/>.</summary>
internal sealed class HealthService(HealthStatusRegistry registry)
{
    public Task<HealthCheckResponse> Check(HealthCheckRequest request, ServerCallContext context)
    {
        if (!registry.TryGetStatus(request.Service, out var status))
        {
            throw new RpcException(StatusCode.NotFound, $"Unknown service '{request.Service}'.");
        }

        return Task.FromResult(new HealthCheckResponse { Status = status });
    }

    public async Task Watch(HealthCheckRequest request, IServerStreamWriter<HealthCheckResponse> responses, ServerCallContext context)
    {
        var (reader, subscription) = registry.Watch(request.Service);
        using (subscription)
        {
            try
            {
                await foreach (var status in reader.ReadAllAsync(context.CancellationToken))
                {
                    await responses.WriteAsync(new HealthCheckResponse { Status = status }, context.CancellationToken);
                }
            }
            catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
            {
                // Watch ends when the client goes away; that is its normal end.
            }
        }
    }
}
