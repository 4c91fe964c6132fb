using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace Fleet.Aggregator.Store;

/// <summary>Conversions between messages, times and column values.</summary>
internal static class StoreCodec
{
    public static long ToUnixMs(DateTimeOffset time) => time.ToUnixTimeMilliseconds();

    public static long ToUnixMs(Timestamp timestamp) => checked((timestamp.Seconds * 1000) + (timestamp.Nanos / 1_000_000));

    public static DateTimeOffset FromUnixMs(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    public static bool IsSet(Timestamp? timestamp) => timestamp is not null && (timestamp.Seconds != 0 || timestamp.Nanos != 0);

    public static T ReadMessage<T>(System.Data.Common.DbDataReader reader, int ordinal, MessageParser<T> parser)
        where T : IMessage<T>
    {
        using var stream = reader.GetStream(ordinal);
        return parser.ParseFrom(stream);
    }

    /// <summary>" WHERE a AND b" for the given constant conditions, or nothing.</summary>
    public static string Where(List<string> conditions) =>
        conditions.Count == 0 ? string.Empty : " WHERE " + string.Join(" AND ", conditions);

    public static long ToDbInteger(ulong value, string paramName) =>
        value <= long.MaxValue ? (long)value : throw new ArgumentOutOfRangeException(paramName, value, "Values above 2^63-1 cannot be stored.");
}
