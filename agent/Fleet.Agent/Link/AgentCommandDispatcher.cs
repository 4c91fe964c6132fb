using Fleet.Agent.Actions;
using Fleet.Agent.Archive.Hosting;
using Fleet.Agent.State;
using Fleet.Protos.V1;
using Google.Protobuf.WellKnownTypes;

namespace Fleet.Agent.Link;

/// <summary>
/// Routes aggregator commands to the agent's capabilities. Every command's epoch is checked against the
/// highest epoch seen (persisted) before anything runs; a lower epoch is refused. Role-changing actions
/// run one at a time; commands this agent cannot run are answered "unsupported".
/// </summary>
internal sealed class AgentCommandDispatcher(
    ISnapshotRefresher refresher,
    AgentState state,
    PostgresActions actions,
    LeaseClock lease,
    TimeProvider time,
    ILogger<AgentCommandDispatcher> logger,
    ArchiveVerificationService? archive = null)
{
    /// <summary>Commands this agent version executes; others get COMMAND_OUTCOME_UNSUPPORTED.</summary>
    public static readonly string[] Capabilities = ["collect_now", "lease", "promote", "fence", "follow", "rejoin", "verify_archive", "verify_archive_deep"];

    private readonly SemaphoreSlim _actionLock = new(1, 1);

    /// <summary>Latest archive verifications, for the reports (null when archive verification is not registered).</summary>
    public ArchiveStatusBoard? ArchiveStatuses => archive?.Board;

    /// <summary>True for commands answered at once on the receive loop; the rest may take seconds.</summary>
    public static bool IsQuick(AggregatorCommand command) =>
        command.CommandCase is AggregatorCommand.CommandOneofCase.Welcome or AggregatorCommand.CommandOneofCase.LeaseGrant;

    /// <summary>True for the role-changing actions (Promote, Fence, Follow, Rejoin), which run one at a time.</summary>
    public static bool IsAction(AggregatorCommand command) =>
        command.CommandCase is AggregatorCommand.CommandOneofCase.Promote or AggregatorCommand.CommandOneofCase.Fence
            or AggregatorCommand.CommandOneofCase.Follow or AggregatorCommand.CommandOneofCase.Rejoin;

    /// <summary>Runs a command; returns the result to send, or null for commands that need none (Welcome, LeaseGrant).</summary>
    public async Task<CommandResult?> HandleAsync(AggregatorCommand command, Func<NodeSnapshot, Task<ulong>> report, CancellationToken cancellationToken)
    {
        var started = time.GetUtcNow();
        var result = new CommandResult { CommandId = command.CommandId, Epoch = command.Epoch, StartedAt = Timestamp.FromDateTimeOffset(started) };
        // Epoch 0 means "no epoch" for routine commands; a role-changing action always carries one, so an
        // action at 0 is stale on any agent that has seen an epoch.
        if ((command.Epoch > 0 || IsAction(command)) && !state.ObserveEpoch(command.Epoch))
        {
            result.Outcome = CommandOutcome.RefusedStaleEpoch;
            result.Epoch = state.HighestEpochSeen;
            result.Message = $"epoch {command.Epoch} is older than {state.HighestEpochSeen}";
            ActionLog.StaleEpoch(logger, command.CommandCase.ToString(), command.Epoch, state.HighestEpochSeen);
            return Finish(result, started);
        }

        switch (command.CommandCase)
        {
            case AggregatorCommand.CommandOneofCase.Welcome:
                return null;
            case AggregatorCommand.CommandOneofCase.LeaseGrant:
                var grant = command.LeaseGrant;
                lease.Grant(grant.ReportSequence, grant.Duration.ToTimeSpan(), command.Epoch, [.. grant.Replicas]);
                return null;
            case AggregatorCommand.CommandOneofCase.CollectNow:
                var snapshot = await refresher.CollectNowAsync(cancellationToken);
                result.ReportSequence = await report(snapshot);
                result.Outcome = CommandOutcome.Succeeded;
                result.Message = "collected";
                return Finish(result, started);
            case AggregatorCommand.CommandOneofCase.VerifyArchiveNow:
                return Finish(await ArchiveCommand.VerifyAsync(archive, command, result, cancellationToken), started);
            case AggregatorCommand.CommandOneofCase.Promote:
            case AggregatorCommand.CommandOneofCase.Fence:
            case AggregatorCommand.CommandOneofCase.Follow:
            case AggregatorCommand.CommandOneofCase.Rejoin:
                return Finish(await RunActionAsync(command, result, cancellationToken), started);
            default:
                result.Outcome = CommandOutcome.Unsupported;
                result.Message = $"this agent ({AgentState.Version}) does not support {command.CommandCase}";
                return Finish(result, started);
        }
    }

    private async Task<CommandResult> RunActionAsync(AggregatorCommand command, CommandResult result, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (command.Timeout is { } limit && limit.ToTimeSpan() > TimeSpan.Zero)
        {
            timeout.CancelAfter(limit.ToTimeSpan());
        }

        var queuedAt = time.GetUtcNow();
        try
        {
            await _actionLock.WaitAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            result.Outcome = CommandOutcome.DeadlineExceeded;
            result.Message = $"{command.CommandCase} did not start within {command.Timeout?.ToTimeSpan().TotalSeconds:F0} s: another action was running";
            ActionLog.Failed(logger, command.CommandCase.ToString(), command.Epoch, result.Message);
            return result;
        }

        try
        {
            result.QueuedMs = (ulong)Math.Max(0, (time.GetUtcNow() - queuedAt).TotalMilliseconds);
            ActionLog.Starting(logger, command.CommandCase.ToString(), command.Epoch, command.CommandId);
            if (command.CommandCase is AggregatorCommand.CommandOneofCase.Rejoin or AggregatorCommand.CommandOneofCase.Promote)
            {
                state.AllowStart();
            }

            result.Details = command.CommandCase switch
            {
                AggregatorCommand.CommandOneofCase.Promote => await actions.PromoteAsync(command.Promote.WaitForReplayLsn, [.. command.Promote.ReplicaSlots], timeout.Token),
                AggregatorCommand.CommandOneofCase.Fence => await actions.FenceAsync(command.Fence.Mode == FenceMode.ReadOnly ? FenceMode.ReadOnly : FenceMode.Stop, timeout.Token),
                AggregatorCommand.CommandOneofCase.Follow => await actions.FollowAsync(command.Follow.Upstream, timeout.Token),
                _ => await actions.RejoinAsync(command.Rejoin.Upstream, timeout.Token),
            };
            state.SetFenced(result.Details.Fenced, keepDown: command.CommandCase == AggregatorCommand.CommandOneofCase.Fence && command.Fence.Mode != FenceMode.ReadOnly);
            if (result.Details.Role != NodeRole.Primary)
            {
                lease.Release();
            }

            result.Outcome = CommandOutcome.Succeeded;
            result.Message = $"{command.CommandCase} done: {result.Details.Role}, timeline {result.Details.Timeline}, {result.Details.LsnText}";
            ActionLog.Succeeded(logger, command.CommandCase.ToString(), command.Epoch, result.Message);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            result.Outcome = CommandOutcome.DeadlineExceeded;
            result.Message = $"{command.CommandCase} did not finish within {command.Timeout?.ToTimeSpan().TotalSeconds:F0} s";
            ActionLog.Failed(logger, command.CommandCase.ToString(), command.Epoch, result.Message);
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or Npgsql.NpgsqlException or IOException or ArgumentException)
        {
            result.Outcome = CommandOutcome.Failed;
            result.Message = ex.Message;
            ActionLog.Failed(logger, command.CommandCase.ToString(), command.Epoch, ex.Message);
        }
        finally
        {
            _actionLock.Release();
        }

        return result;
    }

    private CommandResult Finish(CommandResult result, DateTimeOffset started)
    {
        var finished = time.GetUtcNow();
        result.FinishedAt = Timestamp.FromDateTimeOffset(finished);
        result.DurationMs = (ulong)Math.Max(0, (finished - started).TotalMilliseconds);
        return result;
    }
}
