using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using Google.Protobuf;

namespace Fleet.Rpc.Protocol;

/// <summary>
/// Length-prefixed message framing: a compressed-flag byte, a 4-byte big-endian length, then the
/// (optionally compressed) protobuf bytes. Shared by the server (request bodies) and client (responses).
/// </summary>
internal static class MessageFraming
{
    /// <summary>
    /// Reads the next message. Returns null at a clean end of stream. Oversized, truncated, wrongly
    /// flagged or unparsable messages raise <see cref="RpcException"/> with the status gRPC prescribes.
    /// </summary>
    public static async ValueTask<T?> ReadMessageAsync<T>(
        PipeReader reader, MessageParser<T> parser, int maxReceiveSize, string? encoding, CancellationToken cancellationToken)
        where T : class, IMessage<T>
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            if (TryReadFrame(buffer, maxReceiveSize, out var compressed, out var payload, out var frameEnd))
            {
                try
                {
                    return Parse(parser, payload, compressed, encoding, maxReceiveSize);
                }
                finally
                {
                    reader.AdvanceTo(frameEnd);
                }
            }

            if (result.IsCompleted)
            {
                var remaining = buffer.Length;
                reader.AdvanceTo(buffer.End);
                if (remaining == 0)
                {
                    return null;
                }

                throw new RpcException(StatusCode.Internal, $"Incomplete message: the stream ended inside a frame ({remaining} bytes of it received).");
            }

            if (result.IsCanceled)
            {
                throw new OperationCanceledException("Reading was cancelled.");
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>Writes one framed message. Throws RESOURCE_EXHAUSTED when it exceeds <paramref name="maxSendSize"/>.</summary>
    public static void WriteMessage<T>(IBufferWriter<byte> writer, T message, int? maxSendSize, bool compress)
        where T : IMessage<T>
    {
        var size = message.CalculateSize();
        if (size > maxSendSize)
        {
            throw new RpcException(StatusCode.ResourceExhausted, $"Sending message larger than max ({size} vs. {maxSendSize}).");
        }

        if (compress)
        {
            var raw = ArrayPool<byte>.Shared.Rent(Math.Max(size, 1));
            try
            {
                message.WriteTo(raw.AsSpan(0, size));
                var compressed = MessageCompression.Compress(raw.AsSpan(0, size));
                WriteHeader(writer, true, compressed.Length);
                writer.Write(compressed);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(raw);
            }

            return;
        }

        WriteHeader(writer, false, size);
        if (size > 0)
        {
            message.WriteTo(writer);
        }
    }

    /// <summary>Serializes one framed message into a new array (for single-message request bodies).</summary>
    public static byte[] SerializeFrame<T>(T message, int? maxSendSize, bool compress)
        where T : IMessage<T>
    {
        var writer = new ArrayBufferWriter<byte>(message.CalculateSize() + GrpcProtocol.FrameHeaderSize);
        WriteMessage(writer, message, maxSendSize, compress);
        return writer.WrittenSpan.ToArray();
    }

    internal static bool TryReadFrame(
        ReadOnlySequence<byte> buffer, int maxReceiveSize, out bool compressed, out ReadOnlySequence<byte> payload, out SequencePosition frameEnd)
    {
        compressed = false;
        payload = default;
        frameEnd = default;
        if (buffer.Length < GrpcProtocol.FrameHeaderSize)
        {
            return false;
        }

        Span<byte> header = stackalloc byte[GrpcProtocol.FrameHeaderSize];
        buffer.Slice(0, GrpcProtocol.FrameHeaderSize).CopyTo(header);
        var flag = header[0];
        if (flag > 1)
        {
            throw new RpcException(StatusCode.Internal, $"Invalid frame: compressed flag is {flag}, expected 0 or 1.");
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
        if (length > (uint)maxReceiveSize)
        {
            // Refuse before buffering: the peer may be sending gigabytes.
            throw new RpcException(StatusCode.ResourceExhausted, $"Received message larger than max ({length} vs. {maxReceiveSize}).");
        }

        if (buffer.Length < GrpcProtocol.FrameHeaderSize + length)
        {
            return false;
        }

        compressed = flag == 1;
        payload = buffer.Slice(GrpcProtocol.FrameHeaderSize, length);
        frameEnd = payload.End;
        return true;
    }

    private static T Parse<T>(MessageParser<T> parser, ReadOnlySequence<byte> payload, bool compressed, string? encoding, int maxReceiveSize)
        where T : class, IMessage<T>
    {
        try
        {
            if (!compressed)
            {
                return parser.ParseFrom(payload);
            }

            if (encoding is null || encoding == GrpcProtocol.Identity)
            {
                throw new RpcException(StatusCode.Internal, "Invalid frame: compressed flag set but the call has no grpc-encoding.");
            }

            if (encoding != GrpcProtocol.Gzip)
            {
                throw new RpcException(StatusCode.Unimplemented, $"Unsupported grpc-encoding '{encoding}'.");
            }

            return parser.ParseFrom(MessageCompression.Decompress(payload, maxReceiveSize));
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new RpcException(new Status(StatusCode.Internal, $"Failed to deserialize {typeof(T).Name}: {ex.Message}"), new Metadata(), ex);
        }
    }

    private static void WriteHeader(IBufferWriter<byte> writer, bool compressed, int length)
    {
        var span = writer.GetSpan(GrpcProtocol.FrameHeaderSize);
        span[0] = compressed ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)length);
        writer.Advance(GrpcProtocol.FrameHeaderSize);
    }
}
