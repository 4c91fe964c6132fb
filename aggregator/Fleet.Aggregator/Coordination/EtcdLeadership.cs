using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using dotnet_etcd;
using Etcdserverpb;
using Fleet.Aggregator.Configuration;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace Fleet.Aggregator.Coordination;

/// <summary>
/// Leader election on etcd (Mode Etcd). The leader key <c>{prefix}/{region}/leader</c> is created, only if absent,
/// attached to this aggregator's etcd lease; whoever created it leads until the lease ends. The leader renews the
/// lease every <see cref="EtcdCoordinationOptions.RenewInterval"/> and checks the key is still its own; it acts
/// only until <see cref="LeaderLease.ActUntil"/> of the last renewal etcd confirmed, so a leader cut off from etcd
/// stops acting before its lease can expire there and another be elected. Followers look for a vacancy at the
/// same pace, and at once when a watch on the leader key sees it deleted. A leader that stops cleanly marks its
/// resignation and revokes its lease, so a follower takes over at once.
/// </summary>
internal sealed partial class EtcdLeadership : BackgroundService, ILeadership, IEtcdTerm
{
    /// <summary>At most this long for revoking the lease on shutdown (the host's stop token may end it sooner).</summary>
    private static readonly TimeSpan ResignTimeout = TimeSpan.FromSeconds(5);

    private readonly EtcdCoordinationOptions _options;
    private readonly string _name;
    private readonly string? _address;
    private readonly TimeProvider _time;
    private readonly ILogger<EtcdLeadership> _logger;
    private readonly EtcdClient _client;
    private volatile LeadershipStatus _status = LeadershipStatus.NoLeaderKnown;
    private long _leaseId;
    private long _abandonedLease;

    /// <summary>The last term seen held (by another aggregator, or by this one): 0 while none was seen.</summary>
    private long _observedTerm;

    /// <summary>Completed by the watch when the leader key is deleted: the next round starts at once.</summary>
    private TaskCompletionSource _vacated = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>How long a resignation marker lives: far longer than any election takes.</summary>
    private static readonly TimeSpan ResignedMarkerTtl = TimeSpan.FromSeconds(60);

    public EtcdLeadership(IOptions<CoordinationOptions> coordination, IOptions<AggregatorOptions> aggregator, TimeProvider time, ILogger<EtcdLeadership> logger)
    {
        _options = coordination.Value.Etcd;
        _name = CoordinationNames.Name(coordination.Value);
        _address = coordination.Value.AdvertiseAddress;
        RegionPrefix = $"{_options.Prefix}/{aggregator.Value.Region}";
        LeaderKeyBytes = ByteString.CopyFromUtf8(RegionPrefix + "/leader");
        _time = time;
        _logger = logger;
        _client = CreateClient(_options);
    }

    /// <summary><c>{prefix}/{region}/leader</c>: the key whose creator leads the region.</summary>
    public ByteString LeaderKeyBytes { get; }

    /// <summary><c>{prefix}/{region}</c>: the region's keys live under it.</summary>
    public string RegionPrefix { get; }

    /// <summary>The etcd client, shared with <see cref="EtcdClusterState"/>.</summary>
    public EtcdClient Client => _client;

    public bool IsLeader(DateTimeOffset now) => _status is { IsLeader: true, ActUntil: { } until } && now < until;

    public bool Coordinated => true;

    public LeadershipStatus Status(DateTimeOffset now)
    {
        var status = _status;
        return status.IsLeader && !IsLeader(now) ? status with { IsLeader = false } : status;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        CoordinationLog.Started(_logger, _name, LeaderKeyBytes.ToStringUtf8(), string.Join(",", _options.Endpoints), (long)_options.LeaseTtl.TotalSeconds);
        var watching = WatchLeaderKeyAsync(stoppingToken);
        var failing = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            // A deletion seen from here on wakes the wait below; one seen earlier is found by this round's read.
            var vacated = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _vacated, vacated);
            try
            {
                await StepAsync(stoppingToken);
                if (failing)
                {
                    CoordinationLog.EtcdReachable(_logger);
                    failing = false;
                }
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                // Any failure (an RPC error, a deadline, a cancelled keep-alive, a reset) only costs this round: the
                // loop must live on, and the term's end is enforced by the clock whatever happens here.
                if (!failing)
                {
                    CoordinationLog.EtcdFailed(_logger, e.Message);
                    failing = true;
                }
            }

            StepDownIfLapsed();
            await Task.WhenAny(Task.Delay(_options.RenewInterval, _time, stoppingToken), vacated.Task); // never throws: the loop condition sees the stop
        }

        await watching;
    }

    /// <summary>
    /// Watches the leader key so a follower campaigns as soon as it is deleted (a resignation, or the old leader's
    /// lease running out) instead of at its next look. Only a shortcut: the rounds find a vacancy without it, so a
    /// broken watch is simply opened again after a renew interval.
    /// </summary>
    private async Task WatchLeaderKeyAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                using var call = _client.GetConnection().WatchClient.Watch(cancellationToken: stoppingToken);
                await call.RequestStream.WriteAsync(new WatchRequest { CreateRequest = new WatchCreateRequest { Key = LeaderKeyBytes } }, stoppingToken);
                while (await call.ResponseStream.MoveNext(stoppingToken))
                {
                    if (call.ResponseStream.Current.Events.Any(e => e.Type == Mvccpb.Event.Types.EventType.Delete))
                    {
                        Volatile.Read(ref _vacated).TrySetResult();
                    }
                }
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested && e is RpcException or HttpRequestException or IOException or InvalidOperationException)
            {
                // etcd unreachable or the stream reset: the rounds carry on; the watch is opened again below.
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }

            await Task.Delay(_options.RenewInterval, _time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        var wasLeader = _status.IsLeader;
        var term = _status.Term;
        _status = LeadershipStatus.NoLeaderKnown;
        if (_leaseId != 0)
        {
            try
            {
                // Revoking deletes the leader key: a follower takes over within one renew interval, not one TTL. Not
                // time-critical (the host is stopping), so it gets the stop's own time rather than a request's. The
                // successor may act at once, so it must not assume this leader went quiet a margin earlier: the
                // resignation is marked first, and if that fails the lease is left to run out instead.
                var deadline = DateTime.UtcNow + ResignTimeout;
                await MarkResignedAsync(term, deadline, cancellationToken);
                await RevokeAsync(_leaseId, cancellationToken, deadline);
                if (wasLeader)
                {
                    CoordinationLog.Resigned(_logger, _name);
                }
            }
            catch (Exception e) when (e is RpcException or HttpRequestException or OperationCanceledException)
            {
                CoordinationLog.ResignFailed(_logger, e.Message);
            }
        }
    }

    public override void Dispose()
    {
        _client.Dispose();
        base.Dispose();
    }

    /// <summary>One round: renew and check as leader, or look for a vacancy and campaign as follower.</summary>
    private async Task StepAsync(CancellationToken cancellationToken)
    {
        if (_status.IsLeader)
        {
            await RenewAsync(cancellationToken);
            return;
        }

        if (_abandonedLease != 0)
        {
            // The lease of a term given up: revoked so the key it holds goes now, not after its TTL.
            await RevokeAsync(_abandonedLease, cancellationToken);
            _abandonedLease = 0;
        }

        var key = LeaderKeyBytes;
        var existing = (await _client.GetAsync(new RangeRequest { Key = key }, deadline: Deadline(), cancellationToken: cancellationToken)).Kvs.FirstOrDefault();
        if (existing is not null)
        {
            Follow(existing);
            return;
        }

        // Vacant: a lease only now (a follower holds none, so none can lapse unnoticed), then create-if-absent.
        var sentAt = _time.GetUtcNow();
        var lease = await _client.LeaseGrantAsync(new LeaseGrantRequest { TTL = (long)_options.LeaseTtl.TotalSeconds }, deadline: Deadline(), cancellationToken: cancellationToken);
        var observed = _observedTerm;
        var txn = new TxnRequest
        {
            Compare = { new Compare { Key = key, Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = 0 } },
            Success =
            {
                new RequestOp { RequestPut = new PutRequest { Key = key, Value = ByteString.CopyFrom(LeaderValue.Encode(_name, _address)), Lease = lease.ID } },
                // Did the term seen last, or any later one, resign? Read in the same transaction as the win.
                new RequestOp { RequestRange = new RangeRequest { Key = ResignedKey(Math.Max(observed, 1)), RangeEnd = ResignedRangeEnd, CountOnly = true } },
            },
            Failure = { new RequestOp { RequestRange = new RangeRequest { Key = key } } },
        };
        TxnResponse response;
        try
        {
            response = await _client.TransactionAsync(txn, deadline: Deadline(), cancellationToken: cancellationToken);
        }
        catch (RpcException)
        {
            _abandonedLease = lease.ID; // the put may have happened: revoking the lease undoes it
            throw;
        }

        if (!response.Succeeded)
        {
            _abandonedLease = lease.ID;
            if (response.Responses[0].ResponseRange.Kvs.FirstOrDefault() is { } winner)
            {
                Follow(winner);
            }

            return;
        }

        _leaseId = lease.ID;
        var term = response.Header.Revision;
        var quiet = LeaderLease.PredecessorQuiet(observed, response.Responses[1].ResponseRange.Count, _options.StepDownMargin);
        _observedTerm = term;
        _status = new LeadershipStatus(true, _name, _address, term, LeaderLease.ActUntil(sentAt, TimeSpan.FromSeconds(lease.TTL), _options.StepDownMargin)) { PredecessorQuiet = quiet };
        CoordinationLog.BecameLeader(_logger, _name, term, LeaderKeyBytes.ToStringUtf8(), (long)quiet.TotalMilliseconds);
    }

    private void Follow(Mvccpb.KeyValue holder)
    {
        var (name, address) = LeaderValue.Decode(holder.Value.Span);
        var previous = _status;
        _observedTerm = holder.ModRevision;
        _status = new LeadershipStatus(false, name, address, holder.ModRevision, null);
        if (previous.Term != holder.ModRevision)
        {
            CoordinationLog.Following(_logger, name ?? "(unreadable)", holder.ModRevision);
        }
    }

    private async Task RevokeAsync(long lease, CancellationToken cancellationToken, DateTime? deadline = null)
    {
        try
        {
            await _client.LeaseRevokeAsync(new LeaseRevokeRequest { ID = lease }, deadline: deadline ?? Deadline(), cancellationToken: cancellationToken);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
            // expired already
        }
    }

    private async Task RenewAsync(CancellationToken cancellationToken)
    {
        var sentAt = _time.GetUtcNow();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_options.RequestTimeout);
        using var call = _client.GetConnection().LeaseClient.LeaseKeepAlive(deadline: Deadline(), cancellationToken: deadline.Token);
        await call.RequestStream.WriteAsync(new LeaseKeepAliveRequest { ID = _leaseId }, deadline.Token);
        if (!await call.ResponseStream.MoveNext(deadline.Token))
        {
            throw new IOException("etcd closed the keep-alive stream without an answer");
        }

        var renewed = call.ResponseStream.Current;
        await call.RequestStream.CompleteAsync();
        if (renewed.TTL <= 0)
        {
            StepDown("its etcd lease expired");
            return;
        }

        // The key must still be ours: an operator may have deleted it, or etcd may have lost it with the lease.
        var range = await _client.GetAsync(new RangeRequest { Key = LeaderKeyBytes }, deadline: Deadline(), cancellationToken: cancellationToken);
        var current = range.Kvs.FirstOrDefault();
        if (current is null || current.Lease != _leaseId || current.ModRevision != _status.Term)
        {
            StepDown("the leader key is no longer its own");
            if (current is not null)
            {
                Follow(current); // whoever holds it now is the leader agents and operators are sent to
            }

            return;
        }

        _status = _status with { ActUntil = LeaderLease.ActUntil(sentAt, TimeSpan.FromSeconds(renewed.TTL), _options.StepDownMargin) };
    }

    private void StepDownIfLapsed()
    {
        if (_status.IsLeader && !IsLeader(_time.GetUtcNow()))
        {
            StepDown("no renewal was confirmed by etcd in time");
        }
    }

    private void StepDown(string reason)
    {
        var term = _status.Term;
        _status = LeadershipStatus.NoLeaderKnown;
        // Not revoked: left to run out in etcd, so a successor is elected only after it, at least StepDownMargin
        // after this aggregator stopped acting, as a successor whose predecessor's lease expired assumes.
        _leaseId = 0;
        CoordinationLog.SteppedDown(_logger, _name, term, reason);
    }

    /// <summary><c>{prefix}/{region}/resigned/{term:D20}</c>: this term ended by resigning (zero-padded, so keys sort as terms do).</summary>
    private ByteString ResignedKey(long term) => ByteString.CopyFromUtf8($"{RegionPrefix}/resigned/{term.ToString("D20", System.Globalization.CultureInfo.InvariantCulture)}");

    /// <summary>The end of the <c>resigned/</c> range ('/' + 1 = '0').</summary>
    private ByteString ResignedRangeEnd => ByteString.CopyFromUtf8($"{RegionPrefix}/resigned0");

    /// <summary>Marks <paramref name="term"/> as resigned, on a lease of its own so markers do not pile up.</summary>
    private async Task MarkResignedAsync(long term, DateTime deadline, CancellationToken cancellationToken)
    {
        var lease = await _client.LeaseGrantAsync(new LeaseGrantRequest { TTL = (long)ResignedMarkerTtl.TotalSeconds }, deadline: deadline, cancellationToken: cancellationToken);
        await _client.PutAsync(new PutRequest { Key = ResignedKey(term), Value = ByteString.CopyFromUtf8(_name), Lease = lease.ID }, deadline: deadline, cancellationToken: cancellationToken);
    }

    public DateTime Deadline() => DateTime.UtcNow + _options.RequestTimeout;

    private static EtcdClient CreateClient(EtcdCoordinationOptions options)
    {
        var endpoints = string.Join(",", options.Endpoints);
        void Channel(Grpc.Net.Client.GrpcChannelOptions channel)
        {
            if (channel.HttpHandler is SocketsHttpHandler handler)
            {
                // A member that stops answering is noticed by HTTP/2 pings, not by a 30 s default.
                handler.ConnectTimeout = options.RequestTimeout;
                var ping = TimeSpan.FromSeconds(Math.Max(1, Math.Ceiling((options.RenewInterval * 2).TotalSeconds))); // HTTP/2 pings: whole seconds, at least 1
                handler.KeepAlivePingDelay = ping;
                handler.KeepAlivePingTimeout = ping;
            }
        }

        if (!endpoints.Contains("https://", StringComparison.OrdinalIgnoreCase))
        {
            return new EtcdClient(endpoints, configureChannelOptions: Channel);
        }

        return new EtcdClient(endpoints, ssl =>
        {
            if (options.CaFile is { } caFile)
            {
                ssl.RemoteCertificateValidationCallback = Fleet.Hosting.Grpc.CertificateValidation.ServerSignedBy(X509CertificateLoader.LoadCertificateFromFile(caFile));
            }

            if (options.CertificateFile is { } certificateFile && options.KeyFile is { } keyFile)
            {
                ssl.ClientCertificates = [X509Certificate2.CreateFromPemFile(certificateFile, keyFile)];
            }
        }, configureChannelOptions: Channel);
    }
}

/// <summary>The leader key's value: the leader's name and advertised address, as JSON.</summary>
internal static class LeaderValue
{
    public static byte[] Encode(string name, string? address)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("name", name);
            if (address is not null)
            {
                json.WriteString("address", address);
            }

            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    public static (string? Name, string? Address) Decode(ReadOnlySpan<byte> value)
    {
        try
        {
            var reader = new Utf8JsonReader(value);
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            return (root.TryGetProperty("name", out var name) ? name.GetString() : null,
                    root.TryGetProperty("address", out var address) ? address.GetString() : null);
        }
        catch (JsonException)
        {
            return (Encoding.UTF8.GetString(value), null); // written by something else: show it as it is
        }
    }
}

internal static class CoordinationNames
{
    public static string Name(CoordinationOptions options) => string.IsNullOrWhiteSpace(options.Name) ? Environment.MachineName : options.Name;
}
