namespace Fleet.Grpc.Tests.Malformed;

/// <summary>A running gRPC server that malformed input is thrown at.</summary>
public interface IMalformedInputTarget
{
    /// <summary>Its gRPC listener (cleartext HTTP/2 on loopback).</summary>
    Uri Address { get; }

    /// <summary>A unary method of the server, as an HTTP/2 path ("/package.Service/Method").</summary>
    string UnaryPath { get; }

    /// <summary>A serialized request the method answers with OK.</summary>
    byte[] ValidRequest { get; }

    /// <summary>Fails unless the server still answers a real call and reports SERVING.</summary>
    Task AssertStillServingAsync();
}
