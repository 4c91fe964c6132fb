using Grpc.Core;

namespace Fleet.Grpc.Tests.Malformed;

/// <summary>
/// Malformed gRPC request bodies and the status Grpc.AspNetCore answers each with. Named, so a test case reads
/// as the input it sends; a body is made from the target method's valid request where it needs a real message.
/// </summary>
public static class MalformedInputs
{
    private static readonly IReadOnlyDictionary<string, string> NoHeaders = new Dictionary<string, string>();

    private static readonly Dictionary<string, MalformedInput> s_all = new(StringComparer.Ordinal)
    {
        ["truncated frame (declares 100 bytes, sends 10)"] = new(_ => RawGrpcClient.Frame(new byte[10], declaredLength: 100), NoHeaders, StatusCode.Internal, "Incomplete message."),
        ["truncated header"] = new(_ => [0, 0, 0], NoHeaders, StatusCode.Internal, "Incomplete message."),
        ["compressed flag 2"] = new(valid => RawGrpcClient.Frame(valid, flag: 2), NoHeaders, StatusCode.Unknown, "Exception was thrown by handler."),
        ["compressed flag without grpc-encoding"] = new(valid => RawGrpcClient.Frame(valid, flag: 1), NoHeaders, StatusCode.Internal, "Request did not include grpc-encoding value with compressed message."),
        ["compressed flag with grpc-encoding identity"] = new(
            valid => RawGrpcClient.Frame(valid, flag: 1), new Dictionary<string, string> { ["grpc-encoding"] = "identity" }, StatusCode.Internal, "Request sent 'identity' grpc-encoding value with compressed message."),
        ["gzip flag on bytes that are not gzip"] = new(
            _ => RawGrpcClient.Frame("not gzip at all"u8.ToArray(), flag: 1), GzipBomb.Headers, StatusCode.Unknown, "Exception was thrown by handler."),
        ["declared length over the limit"] = new(_ => RawGrpcClient.Frame([], declaredLength: 0x7FFFFFFF), NoHeaders, StatusCode.ResourceExhausted, "Received message exceeds the maximum configured message size."),
        ["gzip inflating to 512 MiB"] = new(_ => GzipBomb.Frame, GzipBomb.Headers, StatusCode.ResourceExhausted, "Received message exceeds the maximum configured message size."),
        ["garbage protobuf"] = new(_ => RawGrpcClient.Frame([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]), NoHeaders, StatusCode.Unknown, "Exception was thrown by handler."),
        ["no message for a unary method"] = new(_ => [], NoHeaders, StatusCode.Internal, "Incomplete message."),
        ["two messages for a unary method"] = new(valid => [.. RawGrpcClient.Frame(valid), .. RawGrpcClient.Frame(valid)], NoHeaders, StatusCode.Internal, "Additional data after the message received."),
    };

    public static TheoryData<string> Names => [.. s_all.Keys];

    public static MalformedInput Get(string name) => s_all[name];
}

/// <summary>One malformed request: its body (given the method's valid request), extra headers, and the expected status.</summary>
public sealed record MalformedInput(Func<byte[], byte[]> Body, IReadOnlyDictionary<string, string> Headers, StatusCode Expected, string ExpectedMessage);
