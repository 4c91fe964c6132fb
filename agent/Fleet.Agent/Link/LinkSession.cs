using Fleet.Agent.Collection;
using Fleet.Agent.Configuration;
using Fleet.Agent.State;
using Fleet.Protos.V1;
using Fleet.Rpc;
using Fleet.Rpc.Client;
using Google.Protobuf.WellKnownTypes;

namespace Fleet.Agent.Link;

/// <summary>
/// One open AgentLink.Connect stream: hello, wait for Welcome, then reports go up (latest snapshot wins)
/// and commands come down, until either side ends the stream.
/// </summary>
internal sealed class LinkSession(
    AgentOptions options,
    SnapshotBoard board,
    AgentState state,
    AgentCommandDispatcher dispatcher,
    ILogger logger)
{
    private static readonly TimeSpan WelcomeTimeout = TimeSpan.FromSeconds(10);
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private ulong _sequence;

    /// <summary>Raised once the aggregator has welcomed the agent (the caller resets its backoff).</summary>
    public event Action? Welcomed;

    public async Task RunAsync(GrpcChannel channel, CancellationToken stoppingToken)
    {
        using var sessionCts = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        using var call = channel.DuplexStreamingCall(AgentLinkMethods.Connect, new CallOptions(cancellationToken: sessionCts.Token));
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

            state.SetLinkState(LinkState.Connected, aggregatorId: welcome.AggregatorId);
            LinkLog.Welcomed(logger, welcome.AggregatorId, welcome.Region);
            Welcomed?.Invoke();
        }

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

    private async Task<ulong> SendReportAsync(IClientStreamWriter<AgentMessage> requests, NodeSnapshot snapshot, CancellationToken cancellationToken)
    {
        var sequence = Interlocked.Increment(ref _sequence);
        var report = new AgentReport
        {
            Sequence = sequence,
            Snapshot = snapshot,
            HighestEpochSeen = state.HighestEpochSeen,
            Fenced = state.Fenced,
        };
        await SendAsync(requests, new AgentMessage { Report = report }, cancellationToken);
        state.RecordReportSent(sequence);
        return sequence;
    }

    private async Task ReceiveCommandsAsync(AsyncDuplexStreamingCall<AgentMessage, AggregatorCommand> call, CancellationToken cancellationToken)
    {
        while (await call.ResponseStream.MoveNext(cancellationToken))
        {
            var command = call.ResponseStream.Current;
            var result = await dispatcher.HandleAsync(command, snapshot => SendReportAsync(call.RequestStream, snapshot, cancellationToken), cancellationToken);
            if (result is not null)
            {
                await SendAsync(call.RequestStream, new AgentMessage { CommandResult = result }, cancellationToken);
            }
        }

        throw new InvalidOperationException("The aggregator closed the link.");
    }

    private AgentHello BuildHello()
    {
        var snapshot = board.Current;
        var node = options.Node;
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
            AdvertiseHost = options.Postgres.Host.StartsWith('/') ? "127.0.0.1" : options.Postgres.Host,
            AdvertisePort = (uint)options.Postgres.Port,
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

/// <summary>Routes aggregator commands to the agent's capabilities; answers the rest "unsupported".</summary>
internal sealed class AgentCommandDispatcher(ISnapshotRefresher refresher, AgentState state, TimeProvider time)
{
    /// <summary>Commands this agent version executes; others get COMMAND_OUTCOME_UNSUPPORTED.</summary>
    public static readonly string[] Capabilities = ["collect_now"];

    /// <summary>Runs a command; returns the result to send, or null for commands that need none (Welcome).</summary>
    public async Task<CommandResult?> HandleAsync(AggregatorCommand command, Func<NodeSnapshot, Task<ulong>> report, CancellationToken cancellationToken)
    {
        var started = time.GetUtcNow();
        var result = new CommandResult { CommandId = command.CommandId, Epoch = command.Epoch, StartedAt = Timestamp.FromDateTimeOffset(started) };
        if (command.Epoch > 0 && !state.ObserveEpoch(command.Epoch))
        {
            result.Outcome = CommandOutcome.RefusedStaleEpoch;
            result.Epoch = state.HighestEpochSeen;
            result.Message = $"epoch {command.Epoch} is older than {state.HighestEpochSeen}";
            return Finish(result, started);
        }

        switch (command.CommandCase)
        {
            case AggregatorCommand.CommandOneofCase.Welcome:
            case AggregatorCommand.CommandOneofCase.LeaseGrant:
                return null;
            case AggregatorCommand.CommandOneofCase.CollectNow:
                var snapshot = await refresher.CollectNowAsync(cancellationToken);
                result.ReportSequence = await report(snapshot);
                result.Outcome = CommandOutcome.Succeeded;
                result.Message = "collected";
                return Finish(result, started);
            default:
                result.Outcome = CommandOutcome.Unsupported;
                result.Message = $"this agent ({AgentState.Version}) does not support {command.CommandCase}";
                return Finish(result, started);
        }
    }

    private CommandResult Finish(CommandResult result, DateTimeOffset started)
    {
        var finished = time.GetUtcNow();
        result.FinishedAt = Timestamp.FromDateTimeOffset(finished);
        result.DurationMs = (ulong)Math.Max(0, (finished - started).TotalMilliseconds);
        return result;
    }
}
