using System.Globalization;
using System.Text;
using System.Text.Json;
using Etcdserverpb;
using Fleet.Aggregator.Failover;
using Fleet.Aggregator.Store;
using Google.Protobuf;

namespace Fleet.Aggregator.Coordination;

/// <summary>
/// Epochs and published primaries in etcd (Mode Etcd), under <c>{prefix}/{region}/{cluster}/</c>:
/// <c>epoch</c> (decimal), <c>state</c> (JSON: primary, epoch, pending promotion, former primary) and
/// <c>primary</c> (the primary's node name, plain text, for HAProxy via confd, vip-manager or applications).
/// Every write is one etcd transaction that also compares the leader key's revision with this aggregator's
/// term (the revision that created it, and it is never modified while the term lasts): once another aggregator leads, the comparison fails, nothing is written, and the
/// caller gets <see cref="NotLeaderException"/>.
/// </summary>
internal sealed class EtcdClusterState(IEtcdTerm leadership, TimeProvider time) : IClusterStateStore
{
    private string Prefix => leadership.RegionPrefix;

    public async Task<ulong> GetEpochAsync(string cluster, CancellationToken cancellationToken)
    {
        var range = await leadership.Client.GetAsync(new RangeRequest { Key = Key(cluster, "epoch") }, deadline: leadership.Deadline(), cancellationToken: cancellationToken);
        return range.Kvs.FirstOrDefault() is { } kv ? ParseEpoch(kv.Value) : 0;
    }

    public async Task<IReadOnlyDictionary<string, ulong>> ListEpochsAsync(CancellationToken cancellationToken)
    {
        var epochs = new Dictionary<string, ulong>(StringComparer.Ordinal);
        foreach (var (cluster, name, value) in await ListAsync(cancellationToken))
        {
            if (name == "epoch")
            {
                epochs[cluster] = ParseEpoch(value);
            }
        }

        return epochs;
    }

    public async Task<EpochAdvanceResult> TryAdvanceEpochAsync(string cluster, ulong expectedCurrent, ulong newEpoch, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(newEpoch, expectedCurrent);
        var key = Key(cluster, "epoch");
        var term = RequireTerm();
        var epochIsExpected = expectedCurrent == 0
            ? new Compare { Key = key, Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = 0 }
            : new Compare { Key = key, Target = Compare.Types.CompareTarget.Value, Result = Compare.Types.CompareResult.Equal, Value = Epoch(expectedCurrent) };
        var txn = new TxnRequest
        {
            Compare = { LeaderIs(term), epochIsExpected },
            Success = { new RequestOp { RequestPut = new PutRequest { Key = key, Value = Epoch(newEpoch) } } },
            Failure = { new RequestOp { RequestRange = new RangeRequest { Key = leadership.LeaderKeyBytes } }, new RequestOp { RequestRange = new RangeRequest { Key = key } } },
        };
        var response = await leadership.Client.TransactionAsync(txn, deadline: leadership.Deadline(), cancellationToken: cancellationToken);
        if (response.Succeeded)
        {
            return new EpochAdvanceResult(true, newEpoch);
        }

        ThrowIfDeposed(response.Responses[0], term, "the epoch of " + cluster);
        var current = response.Responses[1].ResponseRange.Kvs.FirstOrDefault() is { } kv ? ParseEpoch(kv.Value) : 0;
        return new EpochAdvanceResult(false, current);
    }

    public async Task SavePrimaryAsync(ClusterPrimary primary, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(primary);
        var term = RequireTerm();
        var txn = new TxnRequest
        {
            Compare = { LeaderIs(term) },
            Success = { new RequestOp { RequestPut = new PutRequest { Key = Key(primary.Cluster, "state"), Value = ByteString.CopyFrom(EncodeState(primary, time.GetUtcNow())) } } },
            Failure = { new RequestOp { RequestRange = new RangeRequest { Key = leadership.LeaderKeyBytes } } },
        };
        if (primary.Primary.Length > 0)
        {
            txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = Key(primary.Cluster, "primary"), Value = ByteString.CopyFromUtf8(primary.Primary) } });
        }

        var response = await leadership.Client.TransactionAsync(txn, deadline: leadership.Deadline(), cancellationToken: cancellationToken);
        if (!response.Succeeded)
        {
            ThrowIfDeposed(response.Responses[0], term, "the primary of " + primary.Cluster);
        }
    }

    public async Task<IReadOnlyList<ClusterPrimary>> ListPrimariesAsync(CancellationToken cancellationToken)
    {
        var primaries = new List<ClusterPrimary>();
        foreach (var (cluster, name, value) in await ListAsync(cancellationToken))
        {
            if (name == "state" && DecodeState(cluster, value.Span) is { } state)
            {
                primaries.Add(state);
            }
        }

        return primaries;
    }

    internal static byte[] EncodeState(ClusterPrimary primary, DateTimeOffset now)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("primary", primary.Primary);
            json.WriteNumber("epoch", primary.Epoch);
            if (primary.PendingCandidate is { } pending)
            {
                json.WriteString("pendingCandidate", pending);
                json.WriteNumber("pendingEpoch", primary.PendingEpoch);
            }

            if (primary.FormerPrimary is { } former)
            {
                json.WriteString("formerPrimary", former);
            }

            json.WriteString("updatedAt", now);
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    internal static ClusterPrimary? DecodeState(string cluster, ReadOnlySpan<byte> value)
    {
        try
        {
            var reader = new Utf8JsonReader(value);
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            return new ClusterPrimary(cluster, root.GetProperty("primary").GetString() ?? string.Empty, root.GetProperty("epoch").GetUInt64(),
                root.TryGetProperty("pendingCandidate", out var pending) ? pending.GetString() : null,
                root.TryGetProperty("pendingEpoch", out var pendingEpoch) ? pendingEpoch.GetUInt64() : 0)
            {
                FormerPrimary = root.TryGetProperty("formerPrimary", out var former) ? former.GetString() : null,
                UpdatedAt = root.TryGetProperty("updatedAt", out var updated) ? updated.GetDateTimeOffset() : default,
            };
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return null; // not ours (or damaged): resuming without it is the conservative side
        }
    }

    private async Task<List<(string Cluster, string Name, ByteString Value)>> ListAsync(CancellationToken cancellationToken)
    {
        var prefix = Prefix + "/";
        var range = await leadership.Client.GetRangeAsync(prefix, deadline: leadership.Deadline(), cancellationToken: cancellationToken);
        var items = new List<(string, string, ByteString)>();
        foreach (var kv in range.Kvs)
        {
            var rest = kv.Key.ToStringUtf8()[prefix.Length..];
            var slash = rest.IndexOf('/', StringComparison.Ordinal);
            if (slash > 0 && rest.IndexOf('/', slash + 1) < 0)
            {
                items.Add((rest[..slash], rest[(slash + 1)..], kv.Value));
            }
        }

        return items;
    }

    private long RequireTerm()
    {
        var status = leadership.Status(time.GetUtcNow());
        return status.IsLeader ? status.Term : throw new NotLeaderException(status, "this aggregator does not lead its region: it may not change a cluster's epoch or primary");
    }

    /// <summary>
    /// The leader key is still the one this term wrote: its last modification is its creation. A key deleted and
    /// created again, or overwritten (by an operator, or another aggregator), has a later revision.
    /// </summary>
    private Compare LeaderIs(long term) =>
        new() { Key = leadership.LeaderKeyBytes, Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = term };

    private void ThrowIfDeposed(ResponseOp leaderRange, long term, string what)
    {
        var holder = leaderRange.ResponseRange.Kvs.FirstOrDefault();
        if (holder is null || holder.ModRevision != term)
        {
            var (name, address) = holder is null ? (null, null) : LeaderValue.Decode(holder.Value.Span);
            throw new NotLeaderException(new LeadershipStatus(false, name, address, holder?.ModRevision ?? 0, null),
                $"{what} was not written: term {term} is over ({(name is null ? "no leader now" : "the leader is " + name)})");
        }
    }

    private ByteString Key(string cluster, string name) => ByteString.CopyFromUtf8($"{Prefix}/{cluster}/{name}");

    private static ByteString Epoch(ulong epoch) => ByteString.CopyFromUtf8(epoch.ToString(CultureInfo.InvariantCulture));

    private static ulong ParseEpoch(ByteString value) =>
        ulong.TryParse(Encoding.UTF8.GetString(value.Span), NumberStyles.None, CultureInfo.InvariantCulture, out var epoch) ? epoch : 0;
}

/// <summary>What <see cref="EtcdClusterState"/> needs of the election: the client, the leader key, and the term it believes it holds.</summary>
internal interface IEtcdTerm
{
    dotnet_etcd.EtcdClient Client { get; }

    ByteString LeaderKeyBytes { get; }

    /// <summary><c>{prefix}/{region}</c>.</summary>
    string RegionPrefix { get; }

    DateTime Deadline();

    LeadershipStatus Status(DateTimeOffset now);
}
