using ServiceDescriptor = Google.Protobuf.Reflection.ServiceDescriptor;

namespace Fleet.Hosting.Grpc;

/// <summary>
/// The services a host maps, in mapping order, for server reflection. Each mapping names its generated
/// descriptor, so reflection never has to find it by reflecting over service types (what
/// Grpc.AspNetCore.Server.Reflection's AddGrpcReflection does, which Native AOT cannot analyse).
/// </summary>
public sealed class MappedGrpcServices
{
    private readonly List<ServiceDescriptor> _services = [];
    private bool _read;

    /// <summary>Adds a mapped service; mapping happens before the host starts, so before reflection reads the list.</summary>
    public void Add(ServiceDescriptor service)
    {
        ArgumentNullException.ThrowIfNull(service);
        lock (_services)
        {
            if (_read)
            {
                throw new InvalidOperationException($"gRPC service '{service.FullName}' was mapped after server reflection started answering; map every service before the host starts.");
            }

            if (!_services.Any(s => s.FullName == service.FullName))
            {
                _services.Add(service);
            }
        }
    }

    /// <summary>The mapped services; after the first read, the list is final.</summary>
    public IReadOnlyList<ServiceDescriptor> Read()
    {
        lock (_services)
        {
            _read = true;
            return [.. _services];
        }
    }
}
