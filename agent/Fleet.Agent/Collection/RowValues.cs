using System.Data.Common;
using Google.Protobuf.WellKnownTypes;

namespace Fleet.Agent.Collection;

/// <summary>Null-tolerant column reads: numeric LSNs, bigint counters and interval seconds into proto types.</summary>
internal static class RowValues
{
    /// <summary>A non-negative integer (int, bigint or numeric column); NULL and negatives become 0.</summary>
    public static ulong UInt64(this DbDataReader reader, int ordinal) => NullableUInt64(reader, ordinal) ?? 0;

    public static ulong? NullableUInt64(this DbDataReader reader, int ordinal)
    {
        if (reader.IsDBNull(ordinal))
        {
            return null;
        }

        return reader.GetValue(ordinal) switch
        {
            long value => value < 0 ? 0 : (ulong)value,
            int value => value < 0 ? 0 : (ulong)value,
            short value => value < 0 ? 0 : (ulong)value,
            decimal value => value <= 0 ? 0 : value >= ulong.MaxValue ? ulong.MaxValue : (ulong)decimal.Truncate(value),
            double value => value <= 0 || double.IsNaN(value) ? 0 : (ulong)value,
            var other => Convert.ToUInt64(other, System.Globalization.CultureInfo.InvariantCulture),
        };
    }

    public static uint UInt32(this DbDataReader reader, int ordinal) => (uint)Math.Min(uint.MaxValue, UInt64(reader, ordinal));

    /// <summary>pg_control's system identifier is a uint64 that PostgreSQL shows as a (possibly negative) bigint.</summary>
    public static ulong Bits64(this DbDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? 0 : unchecked((ulong)reader.GetInt64(ordinal));

    public static double? NullableDouble(this DbDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : Convert.ToDouble(reader.GetValue(ordinal), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Seconds that may be slightly negative through clock skew between statements; clamped at 0.</summary>
    public static double? NullableSeconds(this DbDataReader reader, int ordinal) =>
        NullableDouble(reader, ordinal) is { } seconds ? Math.Max(0, seconds) : null;

    public static string Text(this DbDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? string.Empty : reader.GetString(ordinal);

    public static string? NullableText(this DbDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    public static bool Boolean(this DbDataReader reader, int ordinal) => !reader.IsDBNull(ordinal) && reader.GetBoolean(ordinal);

    public static DateTime? NullableUtc(this DbDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : DateTime.SpecifyKind(reader.GetDateTime(ordinal), DateTimeKind.Utc);

    public static Timestamp? NullableTimestamp(this DbDataReader reader, int ordinal) =>
        NullableUtc(reader, ordinal) is { } value ? Timestamp.FromDateTime(value) : null;
}
