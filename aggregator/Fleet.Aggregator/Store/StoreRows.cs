using System.Text.Json;
using Fleet.Protos.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace Fleet.Aggregator.Store;

/// <summary>One event as stored: the filter columns and the Event message (without its ID) as payload.</summary>
internal readonly record struct EventRow(long TimeMs, int Kind, string Cluster, string Node, byte[] Payload)
{
    /// <summary>Checks and encodes a batch; an event without a time gets <paramref name="now"/>. The arguments are not modified.</summary>
    public static EventRow[] Encode(IReadOnlyList<Event> events, DateTimeOffset now)
    {
        var rows = new EventRow[events.Count];
        for (var i = 0; i < events.Count; i++)
        {
            var source = events[i] ?? throw new ArgumentException($"events[{i}] is null.", nameof(events));
            var stored = source.Clone();
            stored.Id = 0;
            stored.Time ??= Timestamp.FromDateTimeOffset(now);
            rows[i] = new EventRow(StoreCodec.ToUnixMs(stored.Time), (int)stored.Kind, stored.Cluster, stored.Node, stored.ToByteArray());
        }

        return rows;
    }
}

/// <summary>One alert as stored: its columns, checked, and the whole message as payload.</summary>
internal sealed record AlertRow(Alert Alert, byte[] Payload, long SinceMs, long StateMs)
{
    public const int StatePending = (int)AlertState.Pending;
    public const int StateFiring = (int)AlertState.Firing;

    public static AlertRow From(Alert alert, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(alert);
        if (string.IsNullOrEmpty(alert.Id))
        {
            throw new ArgumentException("Alert.Id is required.", nameof(alert));
        }

        if (alert.State is not (AlertState.Pending or AlertState.Firing or AlertState.Resolved))
        {
            throw new ArgumentException($"Alert '{alert.Id}' has state {alert.State}; only PENDING, FIRING and RESOLVED are stored.", nameof(alert));
        }

        var stateMs = StateTimeMs(alert) ?? StoreCodec.ToUnixMs(now);
        var sinceMs = StoreCodec.IsSet(alert.PendingSince) ? StoreCodec.ToUnixMs(alert.PendingSince)
            : StoreCodec.IsSet(alert.FiringSince) ? StoreCodec.ToUnixMs(alert.FiringSince)
            : stateMs;
        return new AlertRow(alert, alert.ToByteArray(), sinceMs, stateMs);
    }

    /// <summary>What an upsert did, given the stored state and payload (null when the ID is new).</summary>
    public AlertUpsertResult Compare(int? storedState, byte[]? storedPayload) =>
        storedState is null ? AlertUpsertResult.Inserted
        : storedState != (int)Alert.State ? AlertUpsertResult.StateChanged
        : storedPayload.AsSpan().SequenceEqual(Payload) ? AlertUpsertResult.Unchanged
        : AlertUpsertResult.Updated;

    /// <summary>When the alert entered its current state, from the timestamp of that state.</summary>
    private static long? StateTimeMs(Alert alert)
    {
        var timestamp = alert.State switch
        {
            AlertState.Pending => alert.PendingSince,
            AlertState.Firing => alert.FiringSince,
            AlertState.Resolved => alert.ResolvedAt,
            _ => null,
        };
        return StoreCodec.IsSet(timestamp) ? StoreCodec.ToUnixMs(timestamp!) : null;
    }
}

/// <summary>Argument checks and encodings shared by the store implementations.</summary>
internal static class StoreArguments
{
    /// <summary>Checks an audit record and returns its reasons as a JSON array.</summary>
    public static string CheckAudit(AuditRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentException.ThrowIfNullOrEmpty(record.Actor, nameof(record));
        ArgumentException.ThrowIfNullOrEmpty(record.Action, nameof(record));
        ArgumentException.ThrowIfNullOrEmpty(record.Outcome, nameof(record));
        if (record.DetailsJson is { } details)
        {
            try
            {
                using var _ = JsonDocument.Parse(details);
            }
            catch (JsonException ex)
            {
                throw new ArgumentException($"AuditRecord.DetailsJson is not valid JSON: {ex.Message}", nameof(record), ex);
            }
        }

        return EncodeReasons(record.Reasons);
    }

    /// <summary>Checks a compare-and-set of an epoch and returns both values as database integers.</summary>
    public static (long Expected, long Next) CheckEpochAdvance(string cluster, ulong expectedCurrent, ulong newEpoch)
    {
        ArgumentException.ThrowIfNullOrEmpty(cluster);
        if (newEpoch <= expectedCurrent)
        {
            throw new ArgumentOutOfRangeException(nameof(newEpoch), newEpoch, $"An epoch only grows: the new epoch must be greater than the expected current one ({expectedCurrent}).");
        }

        return (StoreCodec.ToDbInteger(expectedCurrent, nameof(expectedCurrent)), StoreCodec.ToDbInteger(newEpoch, nameof(newEpoch)));
    }

    /// <summary>Checks a published primary and returns its epoch and pending epoch (null without a pending candidate) as database integers.</summary>
    public static (long Epoch, long? PendingEpoch) CheckPrimary(ClusterPrimary primary)
    {
        ArgumentNullException.ThrowIfNull(primary);
        ArgumentException.ThrowIfNullOrEmpty(primary.Cluster);
        ArgumentException.ThrowIfNullOrEmpty(primary.Primary);
        var epoch = StoreCodec.ToDbInteger(primary.Epoch, nameof(primary.Epoch));
        long? pendingEpoch = primary.PendingCandidate is null ? null : StoreCodec.ToDbInteger(primary.PendingEpoch, nameof(primary.PendingEpoch));
        return (epoch, pendingEpoch);
    }

    public static string EncodeReasons(IReadOnlyList<string>? reasons)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            foreach (var reason in reasons ?? [])
            {
                json.WriteStringValue(reason ?? string.Empty);
            }

            json.WriteEndArray();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    public static string[] DecodeReasons(string json)
    {
        using var document = JsonDocument.Parse(json);
        var reasons = new string[document.RootElement.GetArrayLength()];
        var i = 0;
        foreach (var element in document.RootElement.EnumerateArray())
        {
            reasons[i++] = element.GetString() ?? string.Empty;
        }

        return reasons;
    }
}
