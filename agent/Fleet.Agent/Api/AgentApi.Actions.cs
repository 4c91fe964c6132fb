using Fleet.Protos.V1;
using Grpc.Core;
using Google.Protobuf.WellKnownTypes;

namespace Fleet.Agent.Api;

// AgentService.Promote, Fence, Follow, Rejoin: the operators' break-glass path. Each call is authorised
// (OperatorAuthorizer), turned into the AggregatorCommand the aggregator would send and run by the link's
// AgentCommandDispatcher (same epoch rule, same one-action-at-a-time lock, same PostgresActions), then
// logged and appended to the audit file whatever came of it.
internal sealed partial class AgentApi
{
    /// <summary>Longest operator.reason accepted, in characters.</summary>
    internal const int MaxReasonLength = 1024;

    /// <summary>Longest operator.operator accepted, in characters.</summary>
    internal const int MaxOperatorLength = 256;

    public override Task<ActionResponse> Promote(PromoteRequest request, ServerCallContext context) =>
        RunOperatorActionAsync("Promote", request.Epoch, request.Operator, context, needsUpstream: false, upstream: null,
            () => new AggregatorCommand { Promote = new PromoteCommand { WaitForReplayLsn = request.WaitForReplayLsn } });

    public override Task<ActionResponse> Fence(FenceRequest request, ServerCallContext context) =>
        RunOperatorActionAsync("Fence", request.Epoch, request.Operator, context, needsUpstream: false, upstream: null,
            () => new AggregatorCommand { Fence = new FenceCommand { Mode = request.Mode } });

    public override Task<ActionResponse> Follow(FollowRequest request, ServerCallContext context) =>
        RunOperatorActionAsync("Follow", request.Epoch, request.Operator, context, needsUpstream: true, request.Upstream,
            () => new AggregatorCommand { Follow = new FollowCommand { Upstream = request.Upstream } });

    public override Task<ActionResponse> Rejoin(RejoinRequest request, ServerCallContext context) =>
        RunOperatorActionAsync("Rejoin", request.Epoch, request.Operator, context, needsUpstream: true, request.Upstream,
            () => new AggregatorCommand { Rejoin = new RejoinCommand { Upstream = request.Upstream } });

    private async Task<ActionResponse> RunOperatorActionAsync(
        string action, ulong epoch, OperatorContext? operatorContext, ServerCallContext context, bool needsUpstream, Upstream? upstream, Func<AggregatorCommand> build)
    {
        var peer = context.Peer;
        var stated = operatorContext?.Operator ?? string.Empty;
        var reason = operatorContext?.Reason ?? string.Empty;
        var decision = OperatorAuthorizer.Decide(context.GetHttpContext().Connection.ClientCertificate, context.GetHttpContext().Request.IsHttps, stated, peer);
        var call = new OperatorCall(action, decision.Actor, stated, epoch, reason, peer);
        if (decision.Denied is { } denied)
        {
            throw await RefuseAsync(call, StatusCode.PermissionDenied, denied);
        }

        if (ValidateArguments(action, operatorContext, needsUpstream, upstream) is { } invalid)
        {
            throw await RefuseAsync(call, StatusCode.InvalidArgument, invalid);
        }

        // Bounded by the call's deadline, else Actions:Timeout. The dispatcher's own timer enforces it, so
        // a deadline ends the action as DEADLINE_EXCEEDED (audited) rather than as a bare cancellation.
        var limit = context.Deadline == DateTime.MaxValue ? options.Value.Actions.Timeout : context.Deadline - DateTime.UtcNow;
        var command = build();
        command.CommandId = "operator-" + Guid.NewGuid().ToString("N");
        command.Epoch = epoch;
        command.Timeout = Duration.FromTimeSpan(limit > TimeSpan.Zero ? limit : TimeSpan.FromMilliseconds(1));

        CommandResult? result;
        try
        {
            // Only the client going away cancels (the deadline is the timeout above). Actions report nothing on the link.
            result = await dispatcher.HandleAsync(command, _ => Task.FromResult(0UL), context.GetHttpContext().RequestAborted);
        }
        catch (OperationCanceledException)
        {
            await FinishAsync(call, "CANCELLED", $"{action}: the client cancelled the call; the node may be partly changed");
            throw;
        }
        catch (Exception e)
        {
            result = new CommandResult { Epoch = epoch, Outcome = CommandOutcome.Failed, Message = $"{action} failed: {e.Message}" };
        }

        result ??= new CommandResult { Epoch = epoch, Outcome = CommandOutcome.Failed, Message = $"{action} produced no result" };
        var response = new ActionResponse
        {
            Success = result.Outcome == CommandOutcome.Succeeded,
            Outcome = result.Outcome,
            Message = result.Message,
            Epoch = result.Epoch,
            DurationMs = result.DurationMs,
        };
        if (result.Details is { } details)
        {
            response.Details = details;
        }

        await FinishAsync(call, OutcomeName(result.Outcome), result.Message);
        return response;
    }

    /// <summary>Why the request cannot run (INVALID_ARGUMENT), or null.</summary>
    private static string? ValidateArguments(string action, OperatorContext? operatorContext, bool needsUpstream, Upstream? upstream)
    {
        if (operatorContext is null || string.IsNullOrWhiteSpace(operatorContext.Reason))
        {
            return "operator.reason is required: role changes are audited";
        }

        if (operatorContext.Reason.Length > MaxReasonLength || operatorContext.Reason.Any(char.IsControl))
        {
            return $"operator.reason must be at most {MaxReasonLength} characters, without control characters";
        }

        if (operatorContext.Operator.Length > MaxOperatorLength || operatorContext.Operator.Any(char.IsControl))
        {
            return $"operator.operator must be at most {MaxOperatorLength} characters, without control characters";
        }

        if (needsUpstream && (upstream is null || string.IsNullOrWhiteSpace(upstream.Host) || upstream.Port is 0 or > 65535))
        {
            return $"upstream with host and port (1-65535) is required for {action}";
        }

        return null;
    }

    private async Task<RpcException> RefuseAsync(OperatorCall call, StatusCode code, string message)
    {
        await FinishAsync(call, OutcomeName(code), message);
        return new RpcException(new Status(code, message));
    }

    /// <summary>Logs the call (one event) and appends it to the audit file, under the epoch it asked for.</summary>
    private async Task FinishAsync(OperatorCall call, string outcome, string message)
    {
        var epoch = call.Epoch;
        var actor = Printable(call.Actor);
        var reason = Printable(call.Reason);
        var summary = Printable(message);
        switch (outcome)
        {
            case "SUCCEEDED":
                OperatorLog.Succeeded(logger, call.Action, actor, call.Peer, epoch, outcome, summary, reason);
                break;
            case "FAILED" or "DEADLINE_EXCEEDED" or "CANCELLED":
                OperatorLog.Failed(logger, call.Action, actor, call.Peer, epoch, outcome, summary, reason);
                break;
            default:
                OperatorLog.Refused(logger, call.Action, actor, call.Peer, epoch, outcome, summary, reason);
                break;
        }

        // The file keeps caller text as given (JSON escapes control characters), bounded so that a refused
        // request cannot bloat it.
        await audit.AppendAsync(new OperatorAuditRecord(
            time.GetUtcNow(), Bounded(call.Actor), Bounded(call.StatedOperator), call.Action, epoch, outcome, Bounded(message), Bounded(call.Reason), call.Peer));
    }

    /// <summary>The audited outcome: the CommandOutcome name without its prefix.</summary>
    private static string OutcomeName(CommandOutcome outcome) => outcome switch
    {
        CommandOutcome.Succeeded => "SUCCEEDED",
        CommandOutcome.Failed => "FAILED",
        CommandOutcome.RefusedStaleEpoch => "REFUSED_STALE_EPOCH",
        CommandOutcome.Unsupported => "UNSUPPORTED",
        CommandOutcome.DeadlineExceeded => "DEADLINE_EXCEEDED",
        _ => "UNSPECIFIED",
    };

    /// <summary>The audited outcome of a call refused with a gRPC status: the status name.</summary>
    private static string OutcomeName(StatusCode code) => code switch
    {
        StatusCode.InvalidArgument => "INVALID_ARGUMENT",
        StatusCode.PermissionDenied => "PERMISSION_DENIED",
        _ => code.ToString().ToUpperInvariant(),
    };

    /// <summary>Caller-supplied text cut to <see cref="MaxReasonLength"/> characters.</summary>
    private static string Bounded(string value) => value.Length > MaxReasonLength ? value[..MaxReasonLength] + "…" : value;

    /// <summary>Caller-supplied text as it goes to the single-line log: control characters replaced, length bounded.</summary>
    private static string Printable(string value)
    {
        var bounded = Bounded(value);
        return bounded.Any(char.IsControl) ? new string([.. bounded.Select(c => char.IsControl(c) ? '?' : c)]) : bounded;
    }

    private sealed record OperatorCall(string Action, string Actor, string StatedOperator, ulong Epoch, string Reason, string Peer);
}
