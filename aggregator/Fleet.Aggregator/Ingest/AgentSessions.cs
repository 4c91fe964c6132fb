using System.Collections.Concurrent;
using Fleet.Aggregator.State;
using Fleet.Protos.V1;
using Grpc.Core;

namespace Fleet.Aggregator.Ingest;

/// <summary>The open link streams, by node: how commands reach agents.</summary>
public sealed class AgentSessions
{
    private readonly ConcurrentDictionary<NodeKey, AgentSession> _sessions = new();

    public AgentSession? Get(NodeKey key) => _sessions.GetValueOrDefault(key);

    internal void Set(AgentSession session) => _sessions[session.Key] = session;

    internal void Remove(AgentSession session) => _sessions.TryRemove(new KeyValuePair<NodeKey, AgentSession>(session.Key, session));
}

/// <summary>One admitted agent's stream; writes are serialised.</summary>
public sealed class AgentSession(NodeKey key, long id, IServerStreamWriter<AggregatorCommand> writer, CancellationToken streamToken)
{
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    public NodeKey Key { get; } = key;

    public long Id { get; } = id;

    /// <summary>Cancelled when the stream ends (closed, reset, or its connection faulted).</summary>
    public CancellationToken Closed { get; } = streamToken;

    public async Task SendAsync(AggregatorCommand command, CancellationToken cancellationToken)
    {
        // Lease grants (one per primary report) pass no token of their own: no linked source for them.
        using var linked = cancellationToken.CanBeCanceled ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, Closed) : null;
        var token = linked?.Token ?? Closed;
        await _writeLock.WaitAsync(token);
        try
        {
            await writer.WriteAsync(command, token);
        }
        finally
        {
            _writeLock.Release();
        }
    }
}
