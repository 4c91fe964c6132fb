using Fleet.Hosting.Grpc;
using System.Net;
using System.Net.Http.Headers;
using Fleet.Protos.V1;
using Grpc.Core;
using Grpc.Net.Client;
using Google.Protobuf;

namespace Fleet.EndToEnd.Tests.Infrastructure;

/// <summary>
/// Plays an agent (or an attacker) against the aggregator's AgentLink.Connect: typed streams through
/// Grpc.Net.Client, and hand-made HTTP/2 requests for bytes no well-behaved client would send.
/// </summary>
public sealed class LinkProbe(Uri aggregator) : IDisposable
{
    public const string ConnectPath = "/fleet.v1.AgentLink/Connect";

    private readonly GrpcChannel _channel = GrpcChannels.ForAddress(aggregator);
    private readonly HttpMessageInvoker _raw = new(new SocketsHttpHandler { EnableMultipleHttp2Connections = true, UseProxy = false });

    /// <summary>Opens a Connect stream; nothing is sent until the caller writes.</summary>
    public AsyncDuplexStreamingCall<AgentMessage, AggregatorCommand> Open(CancellationToken cancellationToken) =>
        new AgentLink.AgentLinkClient(_channel).Connect(cancellationToken: cancellationToken);

    public static AgentMessage Hello(string cluster, string name, string region = "local", string? instanceId = null) => new()
    {
        Hello = new AgentHello
        {
            Identity = new NodeIdentity { Cluster = cluster, Name = name, Region = region, Zone = "zone-probe" },
            Role = NodeRole.Replica,
            AgentVersion = "e2e-probe",
            InstanceId = instanceId ?? Guid.NewGuid().ToString("N"),
        },
    };

    /// <summary>Writes <paramref name="messages"/> on a new stream and reads what comes back until the status.</summary>
    public async Task<LinkOutcome> ExchangeAsync(params AgentMessage[] messages)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var call = Open(timeout.Token);
        foreach (var message in messages)
        {
            await call.RequestStream.WriteAsync(message, timeout.Token);
        }

        return await ReadToEndAsync(call, timeout.Token);
    }

    /// <summary>Reads until the server ends the stream; the status is OK or the error the server sent.</summary>
    public static async Task<LinkOutcome> ReadToEndAsync(AsyncDuplexStreamingCall<AgentMessage, AggregatorCommand> call, CancellationToken cancellationToken)
    {
        var received = new List<AggregatorCommand>();
        try
        {
            while (await call.ResponseStream.MoveNext(cancellationToken))
            {
                received.Add(call.ResponseStream.Current);
            }

            return new LinkOutcome(call.GetStatus(), received);
        }
        catch (RpcException ex)
        {
            return new LinkOutcome(ex.Status, received);
        }
    }

    /// <summary>POSTs <paramref name="body"/> as a whole request body over HTTP/2 and returns the gRPC status.</summary>
    public Task<Status> PostRawAsync(byte[] body) => PostRawAsync(new ByteArrayContent(body));

    /// <summary>
    /// Opens a stream (its HEADERS are flushed to the server at once) and never sends a byte of body;
    /// returns the gRPC status the server ends it with.
    /// </summary>
    public Task<Status> PostSilentAsync() => PostRawAsync(new SilentContent());

    private async Task<Status> PostRawAsync(HttpContent content)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(aggregator, ConnectPath))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TryAddWithoutValidation("te", "trailers");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var response = await _raw.SendAsync(request, timeout.Token);
        await response.Content.ReadAsByteArrayAsync(timeout.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var code = Header(response.Headers, "grpc-status") ?? Header(response.TrailingHeaders, "grpc-status")
            ?? throw new InvalidOperationException("The response carries no grpc-status.");
        var message = Header(response.Headers, "grpc-message") ?? Header(response.TrailingHeaders, "grpc-message") ?? string.Empty;
        return new Status((StatusCode)int.Parse(code, System.Globalization.CultureInfo.InvariantCulture), Uri.UnescapeDataString(message));
    }

    /// <summary>A gRPC length-prefixed frame: flag byte, 4-byte big-endian length, payload.</summary>
    public static byte[] Frame(ReadOnlySpan<byte> payload, byte flag = 0, uint? declaredLength = null)
    {
        var frame = new byte[5 + payload.Length];
        frame[0] = flag;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), declaredLength ?? (uint)payload.Length);
        payload.CopyTo(frame.AsSpan(5));
        return frame;
    }

    public static byte[] Frame(IMessage message) => Frame(message.ToByteArray());

    public void Dispose()
    {
        _channel.Dispose();
        _raw.Dispose();
    }

    private static string? Header(HttpHeaders headers, string name) =>
        headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;
}

/// <summary>A request body that sends nothing: it pushes the HEADERS frame out, then waits until the exchange ends.</summary>
internal sealed class SilentContent : HttpContent
{
    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        // SocketsHttpHandler holds a request's HEADERS back until body data or a flush follows.
        await stream.FlushAsync(cancellationToken);
        await Task.Delay(Timeout.Infinite, cancellationToken);
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override bool TryComputeLength(out long length)
    {
        length = -1;
        return false;
    }
}

/// <summary>How a Connect stream ended: its status and the commands received before.</summary>
public sealed record LinkOutcome(Status Status, IReadOnlyList<AggregatorCommand> Received);
