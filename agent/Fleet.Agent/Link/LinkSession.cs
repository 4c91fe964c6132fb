using Fleet.Agent.Actions;
using Fleet.Agent.Collection;
using Fleet.Agent.Configuration;
using Fleet.Agent.State;
using Fleet.Protos.V1;
using Grpc.Core;

namespace Fleet.Agent.Link;

/// <summary>
/// One open AgentLink.Connect stream to one aggregator: hello, wait for Welcome (and for
/// <see cref="LinkAdmission"/> to allow the link), then reports go up (latest snapshot wins) and commands
/// come down, until either side ends the stream.
/// </summary>
internal sealed class LinkSession(
    string endpoint,
    LinkAdmission admission,
    AgentOptions options,
    SnapshotBoard board,
    AgentState state,
    AgentCommandDispatcher dispatcher,
    LeaseClock lease,
    DetectionTiming detection,
    TimeProvider time,
    ILogger logger)
{
    private static readonly TimeSpan WelcomeTimeout = TimeSpan.FromSeconds(10);
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private long _archiveReported;
    private Google.Protobuf.WellKnownTypes.Timestamp? _settingsReported;
    private readonly SemaphoreSlim _reportLock = new(1, 1);
    private NodeSnapshot? _lastReported;
    private ulong _lastReportedSequence;

    /// <summary>Raised once the aggregator has welcomed the agent (the caller resets its backoff).</summary>
    public event Action? Welcomed;

    public async Task RunAsync(AgentLink.AgentLinkClient client, CancellationToken stoppingToken)
    {
        using var sessionCts = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        using var call = client.Connect(cancellationToken: sessionCts.Token);
        await SendAsync(call.RequestStream, new AgentMessage { Hello = BuildHello() }, sessionCts.Token);

        using (var welcomeCts = CancellationTokenSource.CreateLinkedTokenSource(sessionCts.Token))
        {
            welcomeCts.CancelAfter(WelcomeTimeout);
            if (!await call.ResponseStream.MoveNext(welcomeCts.Token) || call.ResponseStream.Current.Welcome is not { } welcome)
            {
                throw new InvalidOperationException("The aggregator did not answer the hello with a Welcome.");
            }

            if (!welcome.Accepted)
            {
                throw new LinkRejectedException(welcome.Reason);
            }

            if (admission.TryOpen(endpoint, welcome.Coordinated) is { } held)
            {
                throw new LinkHeldBackException(held);
            }

            try
            {
                // The aggregator's current epoch: commands older than it are stale from now on.
                if (call.ResponseStream.Current.Epoch > 0)
                {
                    state.ObserveEpoch(call.ResponseStream.Current.Epoch);
                }

                detection.Apply(welcome.Detection);
                state.SetLinkState(endpoint, LinkState.Connected, aggregatorId: welcome.AggregatorId, leader: welcome.Leader);
                LinkLog.Welcomed(logger, welcome.AggregatorId, welcome.Region);
                Welcomed?.Invoke();
            }
            catch
            {
                admission.Close(endpoint); // admitted, but the link ends here: it must not hold others back
                throw;
            }
        }

        try
        {
            await ExchangeAsync(call, sessionCts, stoppingToken);
        }
        finally
        {
            admission.Close(endpoint);
        }
    }

    private async Task ExchangeAsync(AsyncDuplexStreamingCall<AgentMessage, AggregatorCommand> call, CancellationTokenSource sessionCts, CancellationToken stoppingToken)
    {
        var reports = SendReportsAsync(call.RequestStream, sessionCts.Token);
        var commands = ReceiveCommandsAsync(call, sessionCts.Token);
        var first = await Task.WhenAny(reports, commands);
        await sessionCts.CancelAsync();
        try
        {
            await Task.WhenAll(reports, commands);
        }
        catch (Exception) when (first.IsFaulted)
        {
            await first;
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.Cancelled && !first.IsFaulted)
        {
        }

        await first;
    }

    private async Task SendReportsAsync(IClientStreamWriter<AgentMessage> requests, CancellationToken cancellationToken)
    {
        using var subscription = board.Subscribe();
        await foreach (var snapshot in subscription.Reader.ReadAllAsync(cancellationToken))
        {
            await SendReportAsync(requests, snapshot, cancellationToken);
        }
    }

    /// <summary>
    /// Sends one report of <paramref name="snapshot"/> and returns its sequence. A snapshot already reported
    /// (a CollectNow command reports its own, and the board then hands the same one to the periodic loop) is
    /// not sent twice: the earlier report's sequence is returned.
    /// </summary>
    private async Task<ulong> SendReportAsync(IClientStreamWriter<AgentMessage> requests, NodeSnapshot snapshot, CancellationToken cancellationToken)
    {
        await _reportLock.WaitAsync(cancellationToken);
        try
        {
            if (ReferenceEquals(snapshot, _lastReported))
            {
                return _lastReportedSequence;
            }

            var sent = await SendNewReportAsync(requests, snapshot, cancellationToken);
            (_lastReported, _lastReportedSequence) = (snapshot, sent);
            return sent;
        }
        finally
        {
            _reportLock.Release();
        }
    }

    private async Task<ulong> SendNewReportAsync(IClientStreamWriter<AgentMessage> requests, NodeSnapshot snapshot, CancellationToken cancellationToken)
    {
        var sequence = state.NextReportSequence();
        var report = new AgentReport
        {
            Sequence = sequence,
            Snapshot = WithoutRepeatedSettings(snapshot),
            HighestEpochSeen = state.HighestEpochSeen,
            Fenced = state.Fenced,
        };
        if (dispatcher.ArchiveStatuses?.Latest is ( > 0, { } archive) latest && Interlocked.Exchange(ref _archiveReported, latest.Sequence) != latest.Sequence)
        {
            report.Archive = archive;
        }

        // The lease a grant of this report gives runs from now: before the aggregator sees the report.
        lease.ReportSent(sequence, LeaseClock.Now(time));
        await SendAsync(requests, new AgentMessage { Report = report }, cancellationToken);
        state.RecordReportSent(endpoint, sequence);
        return sequence;
    }

    /// <summary>
    /// Server settings (~250 entries, ~8 KB) change only at a slow refresh: they go up once per refresh and
    /// per stream, not with every report; the aggregator keeps the last ones it got.
    /// </summary>
    private NodeSnapshot WithoutRepeatedSettings(NodeSnapshot snapshot)
    {
        if (snapshot.Settings is not { } settings)
        {
            return snapshot;
        }

        if (!Equals(settings.AsOf, _settingsReported))
        {
            _settingsReported = settings.AsOf;
            return snapshot;
        }

        var copy = snapshot.Clone();
        copy.Settings = null;
        return copy;
    }

    private async Task ReceiveCommandsAsync(AsyncDuplexStreamingCall<AgentMessage, AggregatorCommand> call, CancellationToken cancellationToken)
    {
        while (await call.ResponseStream.MoveNext(cancellationToken))
        {
            var command = call.ResponseStream.Current;
            if (AgentCommandDispatcher.IsQuick(command))
            {
                await RunCommandAsync(call, command, cancellationToken);
            }
            else
            {
                // Long actions (promote, rejoin) run off the loop so lease grants keep flowing meanwhile.
                _ = RunCommandAsync(call, command, cancellationToken);
            }
        }

        throw new InvalidOperationException("The aggregator closed the link.");
    }

    private async Task RunCommandAsync(AsyncDuplexStreamingCall<AgentMessage, AggregatorCommand> call, AggregatorCommand command, CancellationToken cancellationToken)
    {
        try
        {
            var result = await dispatcher.HandleAsync(command, snapshot => SendReportAsync(call.RequestStream, snapshot, cancellationToken), cancellationToken);
            if (result is not null)
            {
                await SendAsync(call.RequestStream, new AgentMessage { CommandResult = result }, cancellationToken);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or RpcException)
        {
            // The stream ended; the aggregator sees the command unanswered and decides again.
        }
    }

    private AgentHello BuildHello()
    {
        var snapshot = board.Current;
        var node = options.Node;
        var (advertiseHost, advertisePort) = options.Replication.Resolve(options.Postgres);
        var hello = new AgentHello
        {
            Identity = new NodeIdentity { Name = node.Name, Cluster = node.Cluster, Region = node.Region, Zone = node.Zone },
            Role = snapshot?.Role ?? NodeRole.Unknown,
            AgentVersion = AgentState.Version,
            InstanceId = state.InstanceId,
            ServerVersionNum = snapshot?.ServerVersionNum ?? 0,
            ServerVersion = snapshot?.ServerVersion ?? string.Empty,
            SystemIdentifier = snapshot?.SystemIdentifier ?? 0,
            Tags = new NodeTags { NoFailover = node.NoFailover, CandidatePriority = node.CandidatePriority },
            HighestEpochSeen = state.HighestEpochSeen,
            Fenced = state.Fenced,
            AdvertiseHost = advertiseHost,
            AdvertisePort = (uint)advertisePort,
        };
        hello.Capabilities.AddRange(AgentCommandDispatcher.Capabilities);
        if (snapshot?.Timeline is { } timeline)
        {
            hello.Timeline = timeline;
        }

        return hello;
    }

    private async Task SendAsync(IClientStreamWriter<AgentMessage> requests, AgentMessage message, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            await requests.WriteAsync(message, cancellationToken);
        }
        finally
        {
            _writeLock.Release();
        }
    }
}
