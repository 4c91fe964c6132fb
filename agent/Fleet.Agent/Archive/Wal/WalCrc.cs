using System.Numerics;
using System.Runtime.InteropServices;

namespace Fleet.Agent.Archive.Wal;

/// <summary>
/// CRC-32C (Castagnoli) as PostgreSQL computes pg_crc32c: INIT_CRC32C = 0xFFFFFFFF, COMP_CRC32C over the
/// bytes, FIN_CRC32C = bitwise not. <see cref="BitOperations.Crc32C(uint, ulong)"/> uses the SSE4.2 / ARMv8
/// CRC32C instructions where present. Assumes a little-endian machine, as every .NET server platform is.
/// </summary>
internal static class WalCrc
{
    public const uint Initial = 0xFFFFFFFF;

    // Lane lengths for the three-way split; each has a precomputed "shift by lane bytes" operator.
    private static readonly int[] Lanes = [4096, 1024, 256, 128];
    private static readonly uint[][] LaneOperators = [.. Lanes.Select(BuildOperator)];

    public static uint Finish(uint crc) => ~crc;

    /// <summary>The finished CRC-32C of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Finish(Update(Initial, data));

    /// <summary>
    /// Accumulates <paramref name="data"/> into the raw register <paramref name="crc"/>. Long inputs run three
    /// independent CRC streams over consecutive lanes (the instruction has a latency of three cycles but a
    /// throughput of one per cycle) and merge them: crc(A‖B‖C) = shift(shift(a, |B|) ⊕ b, |C|) ⊕ c where b and
    /// c start from zero.
    /// </summary>
    public static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        for (var l = 0; l < Lanes.Length; l++)
        {
            var lane = Lanes[l];
            while (data.Length >= 3 * lane)
            {
                crc = UpdateThreeWay(crc, data[..(3 * lane)], lane, LaneOperators[l]);
                data = data[(3 * lane)..];
            }
        }

        return UpdateSerial(crc, data);
    }

    private static uint UpdateSerial(uint crc, ReadOnlySpan<byte> data)
    {
        var words = MemoryMarshal.Cast<byte, ulong>(data);
        foreach (var word in words)
        {
            crc = BitOperations.Crc32C(crc, word);
        }

        for (var i = words.Length * 8; i < data.Length; i++)
        {
            crc = BitOperations.Crc32C(crc, data[i]);
        }

        return crc;
    }

    private static uint UpdateThreeWay(uint crc, ReadOnlySpan<byte> data, int lane, uint[] shift)
    {
        var words = MemoryMarshal.Cast<byte, ulong>(data);
        var n = lane / 8;
        var first = words[..n];
        var second = words.Slice(n, n);
        var third = words.Slice(2 * n, n);
        uint a = crc, b = 0, c = 0;
        for (var i = 0; i < first.Length; i++)
        {
            a = BitOperations.Crc32C(a, first[i]);
            b = BitOperations.Crc32C(b, second[i]);
            c = BitOperations.Crc32C(c, third[i]);
        }

        return Apply(shift, Apply(shift, a) ^ b) ^ c;
    }

    /// <summary>Applies a precomputed linear operator: eight 16-entry tables, one per nibble of the register.</summary>
    private static uint Apply(uint[] op, uint crc) =>
        op[crc & 15] ^ op[16 + ((crc >> 4) & 15)] ^ op[32 + ((crc >> 8) & 15)] ^ op[48 + ((crc >> 12) & 15)] ^
        op[64 + ((crc >> 16) & 15)] ^ op[80 + ((crc >> 20) & 15)] ^ op[96 + ((crc >> 24) & 15)] ^ op[112 + (crc >> 28)];

    /// <summary>Entry [16k + n] is the register after feeding <paramref name="length"/> zero bytes to n &lt;&lt; 4k.</summary>
    private static uint[] BuildOperator(int length)
    {
        var columns = new uint[32];
        for (var bit = 0; bit < 32; bit++)
        {
            var value = 1u << bit;
            for (var i = 0; i < length / 8; i++)
            {
                value = BitOperations.Crc32C(value, 0UL);
            }

            columns[bit] = value;
        }

        var table = new uint[128];
        for (var k = 0; k < 8; k++)
        {
            for (var n = 0; n < 16; n++)
            {
                uint value = 0;
                for (var b = 0; b < 4; b++)
                {
                    if ((n & (1 << b)) != 0)
                    {
                        value ^= columns[(4 * k) + b];
                    }
                }

                table[(16 * k) + n] = value;
            }
        }

        return table;
    }

    /// <summary>The 20 header bytes a record's CRC ends with (xl_tot_len .. xl_rmid and padding).</summary>
    public static uint UpdateRecordHeader(uint crc, ReadOnlySpan<byte> header)
    {
        crc = BitOperations.Crc32C(crc, System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(header));
        crc = BitOperations.Crc32C(crc, System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(header[8..]));
        return BitOperations.Crc32C(crc, System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(header[16..]));
    }
}
