using System.Net;
using System.Net.Http.Headers;

namespace Fleet.Rpc.Tests.Malformed;

/// <summary>Sends hand-made HTTP/2 requests, bypassing Fleet.Rpc's client, to feed a server bad input.</summary>
internal sealed class RawGrpcClient(Uri address) : IDisposable
{
    private readonly HttpMessageInvoker _invoker = new(new SocketsHttpHandler());

    public async Task<RawResponse> PostAsync(string path, byte[] body, string? contentType = "application/grpc", IDictionary<string, string>? headers = null)
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
        var status = Header(response.Headers, "grpc-status") ?? Header(response.TrailingHeaders, "grpc-status");
        var message = Header(response.Headers, "grpc-message") ?? Header(response.TrailingHeaders, "grpc-message");
        return new RawResponse(response.StatusCode, status is null ? null : (StatusCode)int.Parse(status, System.Globalization.CultureInfo.InvariantCulture), message, content);
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

    private static string? Header(HttpHeaders headers, string name) =>
        headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;
}

internal sealed record RawResponse(HttpStatusCode HttpStatus, StatusCode? GrpcStatus, string? GrpcMessage, byte[] Body);
