using System.Collections.Concurrent;
using Fleet.Aggregator.Ingest;
using Fleet.Aggregator.State;
using Fleet.Protos.V1;
using Google.Protobuf.WellKnownTypes;

namespace Fleet.Aggregator.Failover;

/// <summary>Sends commands to agents and awaits their results, matched by command id.</summary>
public sealed class CommandTracker(AgentSessions sessions)
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<CommandResult>> _pending = new(StringComparer.Ordinal);
    private long _next;

    /// <summary>
    /// Sends <paramref name="command"/> (id and timeout filled in) and waits for its result. Throws
    /// <see cref="TimeoutException"/> when no result arrives in time, or when the node has no open link.
    /// </summary>
    public async Task<CommandResult> SendAsync(NodeKey node, AggregatorCommand command, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var session = sessions.Get(node) ?? throw new TimeoutException($"node {node} has no open link");
        command.CommandId = $"{node.Cluster}/{node.Node}/{command.CommandCase}/{Interlocked.Increment(ref _next)}-{Environment.TickCount64}";
        command.Timeout = Duration.FromTimeSpan(timeout);
        var completion = new TaskCompletionSource<CommandResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[command.CommandId] = completion;
        try
        {
            await session.SendAsync(command, cancellationToken);
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            limit.CancelAfter(timeout + TimeSpan.FromSeconds(1));
            try
            {
                return await completion.Task.WaitAsync(limit.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"{command.CommandCase} sent to {node} got no result within {timeout.TotalSeconds:F0} s");
            }
        }
        finally
        {
            _pending.TryRemove(command.CommandId, out _);
        }
    }

    /// <summary>Fire and forget (lease grants): no result is expected.</summary>
    public Task SendOneWayAsync(NodeKey node, AggregatorCommand command, CancellationToken cancellationToken) =>
        sessions.Get(node) is { } session ? session.SendAsync(command, cancellationToken) : Task.CompletedTask;

    /// <summary>Completes the waiter of a result; false for results nobody waits for (late or unknown).</summary>
    public bool Complete(CommandResult result) =>
        _pending.TryGetValue(result.CommandId, out var completion) && completion.TrySetResult(result);
}
