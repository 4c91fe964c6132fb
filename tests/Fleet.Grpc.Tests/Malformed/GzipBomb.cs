using System.IO.Compression;

namespace Fleet.Grpc.Tests.Malformed;

/// <summary>
/// A gzip-compressed gRPC message that inflates to 512 MiB: a length-delimited field 2 (EchoRequest.payload,
/// and wire-valid for any message) holding zeros. Built by streaming, so the test never holds 512 MiB itself.
/// </summary>
internal static class GzipBomb
{
    public const long InflatedSize = 512L * 1024 * 1024;

    private static readonly Lazy<byte[]> s_compressed = new(Compress);

    /// <summary>The gzip bytes (about 0.5 MiB: deflate cannot beat ~1:1032 on zeros).</summary>
    public static byte[] Compressed => s_compressed.Value;

    /// <summary>The compressed message in one gRPC frame (flag 1); send it with grpc-encoding: gzip.</summary>
    public static byte[] Frame => RawGrpcClient.Frame(Compressed, flag: 1);

    public static IReadOnlyDictionary<string, string> Headers { get; } = new Dictionary<string, string> { ["grpc-encoding"] = "gzip" };

    private static byte[] Compress()
    {
        var fieldLength = InflatedSize - 6;
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            // Tag of field 2, wire type 2, then the length as a 5-byte varint: 6 bytes of header.
            gzip.Write([0x12, .. Varint((ulong)fieldLength)]);
            var zeros = new byte[1024 * 1024];
            for (var left = fieldLength; left > 0; left -= zeros.Length)
            {
                gzip.Write(zeros, 0, (int)Math.Min(zeros.Length, left));
            }
        }

        return output.ToArray();
    }

    private static byte[] Varint(ulong value)
    {
        var bytes = new List<byte>();
        while (value >= 0x80)
        {
            bytes.Add((byte)(value | 0x80));
            value >>= 7;
        }

        bytes.Add((byte)value);
        return [.. bytes];
    }
}
