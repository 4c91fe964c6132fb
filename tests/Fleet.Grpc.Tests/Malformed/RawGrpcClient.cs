using System.Net;
using System.Net.Http.Headers;
using Grpc.Core;

namespace Fleet.Grpc.Tests.Malformed;

/// <summary>Sends hand-made HTTP/2 requests, bypassing Grpc.Net.Client, to feed a server bad input and to see raw frames.</summary>
internal sealed class RawGrpcClient(Uri address) : IDisposable
{
    private readonly HttpMessageInvoker _invoker = new(new SocketsHttpHandler { UseProxy = false, AutomaticDecompression = DecompressionMethods.None });

    public async Task<RawResponse> PostAsync(string path, byte[] body, string? contentType = "application/grpc", IReadOnlyDictionary<string, string>? headers = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(address, path))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(body),
        };
        if (contentType is not null)
        {
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }

        request.Headers.TryAddWithoutValidation("te", "trailers");
        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        using var response = await _invoker.SendAsync(request, cts.Token);
        var content = await response.Content.ReadAsByteArrayAsync(cts.Token);
        var received = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers).Concat(response.TrailingHeaders))
        {
            received[name] = string.Join(",", values);
        }

        return new RawResponse(response.StatusCode, received, content);
    }

    public void Dispose() => _invoker.Dispose();

    /// <summary>A 5-byte gRPC frame header followed by <paramref name="payload"/>.</summary>
    public static byte[] Frame(byte[] payload, byte flag = 0, uint? declaredLength = null)
    {
        var frame = new byte[5 + payload.Length];
        frame[0] = flag;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), declaredLength ?? (uint)payload.Length);
        payload.CopyTo(frame, 5);
        return frame;
    }
}

/// <summary>An HTTP/2 response as received: status, headers and trailers together (trailers win), and the body bytes.</summary>
internal sealed record RawResponse(HttpStatusCode HttpStatus, IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    public StatusCode? GrpcStatus => Header("grpc-status") is { } status ? (StatusCode)int.Parse(status, System.Globalization.CultureInfo.InvariantCulture) : null;

    public string? GrpcMessage => Header("grpc-message");

    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;

    public override string ToString() =>
        $"HTTP {(int)HttpStatus}, grpc-status {GrpcStatus?.ToString() ?? "none"}, grpc-message '{GrpcMessage}', {Body.Length} body bytes";
}
