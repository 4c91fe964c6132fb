using System.Threading.Channels;
using Grpc.Health.V1;

namespace Fleet.Rpc.Health;

/// <summary>
/// Serving status per service name ("" is the whole server). Hosts set it; grpc.health.v1 reads it.
/// Watchers get every change through a bounded channel that keeps only the latest status.
/// </summary>
public sealed class HealthStatusRegistry
{
    private readonly Dictionary<string, HealthCheckResponse.Types.ServingStatus> _statuses = new(StringComparer.Ordinal)
    {
        [string.Empty] = HealthCheckResponse.Types.ServingStatus.Serving,
    };

    private readonly List<(string Service, Channel<HealthCheckResponse.Types.ServingStatus> Channel)> _watchers = [];
    private readonly Lock _lock = new();

    public void SetStatus(string service, HealthCheckResponse.Types.ServingStatus status)
    {
        ArgumentNullException.ThrowIfNull(service);
        lock (_lock)
        {
            _statuses[service] = status;
            foreach (var (watched, channel) in _watchers)
            {
                if (watched == service)
                {
                    channel.Writer.TryWrite(status);
                }
            }
        }
    }

    /// <summary>Marks every known service NOT_SERVING (on shutdown).</summary>
    public void SetAllNotServing()
    {
        string[] services;
        lock (_lock)
        {
            services = [.. _statuses.Keys];
        }

        foreach (var service in services)
        {
            SetStatus(service, HealthCheckResponse.Types.ServingStatus.NotServing);
        }
    }

    public bool TryGetStatus(string service, out HealthCheckResponse.Types.ServingStatus status)
    {
        lock (_lock)
        {
            return _statuses.TryGetValue(service, out status);
        }
    }

    internal (ChannelReader<HealthCheckResponse.Types.ServingStatus> Reader, IDisposable Subscription) Watch(string service)
    {
        var channel = Channel.CreateBounded<HealthCheckResponse.Types.ServingStatus>(
            new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        lock (_lock)
        {
            channel.Writer.TryWrite(_statuses.TryGetValue(service, out var current) ? current : HealthCheckResponse.Types.ServingStatus.ServiceUnknown);
            _watchers.Add((service, channel));
        }

        return (channel.Reader, new Subscription(this, channel));
    }

    private sealed class Subscription(HealthStatusRegistry registry, Channel<HealthCheckResponse.Types.ServingStatus> channel) : IDisposable
    {
        public void Dispose()
        {
            lock (registry._lock)
            {
                registry._watchers.RemoveAll(w => w.Channel == channel);
            }
        }
    }
}
