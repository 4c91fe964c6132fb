using System.Collections.Concurrent;
using Fleet.Aggregator.Coordination;
using Fleet.Aggregator.Ingest;
using Fleet.Aggregator.State;
using Fleet.Protos.V1;
using Google.Protobuf.WellKnownTypes;

namespace Fleet.Aggregator.Failover;

/// <summary>
/// Sends commands to agents and awaits their results, matched by command id. Every command leaves through
/// here, and only while this aggregator leads: a follower, or a leader whose term has lapsed, sends nothing
/// (<see cref="NotLeaderException"/>).
/// </summary>
public sealed class CommandTracker(AgentSessions sessions, ILeadership leadership, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<CommandResult>> _pending = new(StringComparer.Ordinal);
    private long _next;

    /// <summary>
    /// Sends <paramref name="command"/> (id and timeout filled in) and waits for its result. Throws
    /// <see cref="TimeoutException"/> when no result arrives in time, or when the node has no open link;
    /// <see cref="CommandLinkClosedException"/> (a TimeoutException: no answer either) as soon as the stream that
    /// carried it ends first, instead of waiting out the timeout on a link that can no longer answer.
    /// </summary>
    public async Task<CommandResult> SendAsync(NodeKey node, AggregatorCommand command, TimeSpan timeout, CancellationToken cancellationToken)
    {
        RequireLeadership(command);
        var session = sessions.Get(node) ?? throw new TimeoutException($"node {node} has no open link");
        command.CommandId = $"{node.Cluster}/{node.Node}/{command.CommandCase}/{Interlocked.Increment(ref _next)}-{Environment.TickCount64}";
        command.Timeout = Duration.FromTimeSpan(timeout);
        var completion = new TaskCompletionSource<CommandResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[command.CommandId] = completion;
        try
        {
            try
            {
                await session.SendAsync(command, cancellationToken);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && (session.Closed.IsCancellationRequested || ex is IOException or InvalidOperationException))
            {
                throw new CommandLinkClosedException($"the link to {node} closed while {command.CommandCase} was being sent ({ex.GetType().Name})");
            }

            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, session.Closed);
            limit.CancelAfter(timeout + TimeSpan.FromSeconds(1));
            try
            {
                return await completion.Task.WaitAsync(limit.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                if (session.Closed.IsCancellationRequested)
                {
                    throw new CommandLinkClosedException($"the link to {node} closed before {command.CommandCase} was answered");
                }

                throw new TimeoutException($"{command.CommandCase} sent to {node} got no result within {timeout.TotalSeconds:F0} s");
            }
        }
        finally
        {
            _pending.TryRemove(command.CommandId, out _);
        }
    }

    /// <summary>Fire and forget (lease grants): no result is expected.</summary>
    public Task SendOneWayAsync(NodeKey node, AggregatorCommand command, CancellationToken cancellationToken)
    {
        RequireLeadership(command);
        return sessions.Get(node) is { } session ? session.SendAsync(command, cancellationToken) : Task.CompletedTask;
    }

    private void RequireLeadership(AggregatorCommand command)
    {
        var now = time.GetUtcNow();
        if (!leadership.IsLeader(now))
        {
            var status = leadership.Status(now);
            throw new NotLeaderException(status, $"{command.CommandCase} not sent: this aggregator does not lead the region" +
                (status.DescribeHolder() is { } leader ? $" (the leader is {leader})" : " (no leader known)"));
        }
    }

    /// <summary>Completes the waiter of a result; false for results nobody waits for (late or unknown).</summary>
    public bool Complete(CommandResult result) =>
        _pending.TryGetValue(result.CommandId, out var completion) && completion.TrySetResult(result);
}

/// <summary>
/// The link that carried a command ended before the command's result came back. Like a timeout it means
/// "no answer: the agent may or may not have acted", so every handler of <see cref="TimeoutException"/> stays
/// right; it is known at once, and a repair command is sent again when the agent reconnects.
/// </summary>
public sealed class CommandLinkClosedException(string message) : TimeoutException(message);

/// <summary>
/// A command was not sent because this aggregator does not lead its region (it follows, or its term lapsed):
/// unlike a timeout, the agent certainly did not act on it.
/// </summary>
public sealed class NotLeaderException(LeadershipStatus leadership, string message) : Exception(message)
{
    public LeadershipStatus Leadership { get; } = leadership;
}
