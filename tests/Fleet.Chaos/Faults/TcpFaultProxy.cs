using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Fleet.Chaos.Faults;

/// <summary>
/// A loopback TCP proxy that can cut the network between its clients and one target the way a dropped
/// network does: <see cref="Partition"/> stops forwarding in both directions without closing any socket
/// (bytes already read wait in the proxy, the rest backs up in the kernel's socket buffers as TCP flow
/// control, so both ends see silence, not a reset); connections accepted while partitioned are held and not
/// forwarded. <see cref="Heal"/> resumes forwarding, held connections included, like a network that comes back
/// before TCP gives up. An endpoint that gave up meanwhile (keep-alive timeout) closes its socket, and the
/// proxy passes that on once healed. <see cref="Degrade"/> adds one-way latency to every chunk and, to a
/// random share of chunks, a retransmission-like stall (what packet loss looks like above TCP: the kernel
/// never drops a byte on loopback, so loss is modelled by its effect), order kept.
/// </summary>
/// <remarks>
/// Bounded: one buffer of <see cref="BufferSize"/> bytes per direction and connection, at most
/// <see cref="MaxConnections"/> connections (more are closed at once). Bytes being written at the instant
/// <see cref="Partition"/> is called may still arrive, as packets in flight would; nothing read afterwards does.
/// Listens on 127.0.0.1 only.
/// </remarks>
public sealed class TcpFaultProxy : IAsyncDisposable
{
    public const int BufferSize = 64 * 1024;

    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);

    private readonly TcpListener _listener;
    private readonly IPEndPoint _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<long, Connection> _connections = new();
    private readonly Lock _gate = new();
    private TaskCompletionSource _healed = NewHealed(completed: true);
    private TaskCompletionSource _repliesFlow = NewHealed(completed: true);
    private (TimeSpan Latency, double StallShare, TimeSpan Stall) _degradation;
    private Task? _acceptLoop;
    private long _nextId;
    private long _accepted;
    private long _refused;
    private int _disposed;

    private TcpFaultProxy(IPEndPoint target, int listenPort, int maxConnections)
    {
        _target = target;
        MaxConnections = maxConnections;
        _listener = new TcpListener(IPAddress.Loopback, listenPort);
    }

    /// <summary>Where clients connect (127.0.0.1 and the bound port).</summary>
    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>http://127.0.0.1:port/, for h2c clients such as the agents' aggregator link.</summary>
    public Uri HttpUri => new($"http://127.0.0.1:{EndPoint.Port}/");

    public int MaxConnections { get; }

    public bool IsPartitioned
    {
        get
        {
            lock (_gate)
            {
                return !_healed.Task.IsCompleted;
            }
        }
    }

    /// <summary>Connections accepted so far (refused ones excluded).</summary>
    public long AcceptedConnections => Interlocked.Read(ref _accepted);

    /// <summary>Connections closed at once because <see cref="MaxConnections"/> were open.</summary>
    public long RefusedConnections => Interlocked.Read(ref _refused);

    public int OpenConnections => _connections.Count;

    /// <summary>Starts listening on 127.0.0.1:<paramref name="listenPort"/> (0: any free port) and forwarding to <paramref name="target"/>.</summary>
    public static TcpFaultProxy Start(IPEndPoint target, int listenPort = 0, int maxConnections = 64)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxConnections, 1);
        var proxy = new TcpFaultProxy(target, listenPort, maxConnections);
        proxy._listener.Start();
        proxy._acceptLoop = Task.Run(proxy.AcceptLoopAsync);
        return proxy;
    }

    /// <summary>Stops forwarding in both directions; sockets stay open. Idempotent.</summary>
    public void Partition()
    {
        lock (_gate)
        {
            if (_healed.Task.IsCompleted)
            {
                _healed = NewHealed(completed: false);
            }
        }
    }

    /// <summary>
    /// Stops forwarding from the target to clients only (a one-way fault): clients' bytes still reach the
    /// target, its answers are held. Released by <see cref="Heal"/>. Idempotent.
    /// </summary>
    public void HoldReplies()
    {
        lock (_gate)
        {
            if (_repliesFlow.Task.IsCompleted)
            {
                _repliesFlow = NewHealed(completed: false);
            }
        }
    }

    /// <summary>
    /// From now on every chunk is forwarded <paramref name="latency"/> after it was read, and a share
    /// <paramref name="stallShare"/> (0..1) of chunks <paramref name="stall"/> later still (a lost segment's
    /// retransmission); later chunks wait behind a stalled one. Zero latency and share restore a plain link.
    /// </summary>
    public void Degrade(TimeSpan latency, double stallShare = 0, TimeSpan stall = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(latency, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(stallShare, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(stallShare, 1);
        lock (_gate)
        {
            _degradation = (latency, stallShare, stall);
        }
    }

    private TimeSpan DelayOfNextChunk()
    {
        lock (_gate)
        {
            var (latency, share, stall) = _degradation;
            return share > 0 && Random.Shared.NextDouble() < share ? latency + stall : latency;
        }
    }

    /// <summary>Resumes forwarding both ways (and forwards connections accepted meanwhile). Idempotent.</summary>
    public void Heal()
    {
        lock (_gate)
        {
            _healed.TrySetResult();
            _repliesFlow.TrySetResult();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync();
        _listener.Stop();
        foreach (var connection in _connections.Values)
        {
            connection.Abort();
        }

        var running = _connections.Values.Select(c => c.Completion).Append(_acceptLoop ?? Task.CompletedTask).ToArray();
        try
        {
            await Task.WhenAll(running).WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or IOException or ObjectDisposedException or TimeoutException)
        {
            // Every socket is closed already; the loops only report how they ended.
        }

        _stop.Dispose();
    }

    private static TaskCompletionSource NewHealed(bool completed)
    {
        var source = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (completed)
        {
            source.SetResult();
        }

        return source;
    }

    private Task WaitHealedAsync(CancellationToken cancellationToken, bool towardsClient = false)
    {
        Task healed;
        lock (_gate)
        {
            healed = towardsClient && _healed.Task.IsCompleted ? _repliesFlow.Task : _healed.Task;
        }

        return healed.IsCompleted ? Task.CompletedTask : healed.WaitAsync(cancellationToken);
    }

    private async Task AcceptLoopAsync()
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            if (_connections.Count >= MaxConnections)
            {
                Interlocked.Increment(ref _refused);
                client.Dispose();
                continue;
            }

            Interlocked.Increment(ref _accepted);
            var id = Interlocked.Increment(ref _nextId);
            var connection = new Connection(client);
            _connections[id] = connection;
            connection.Completion = RunConnectionAsync(connection, token).ContinueWith(
                _ => _connections.TryRemove(id, out var _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private async Task RunConnectionAsync(Connection connection, CancellationToken cancellationToken)
    {
        try
        {
            // A connection that arrives during a partition is accepted (the kernel did that already) but goes nowhere.
            await WaitHealedAsync(cancellationToken);
            using (var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                connectTimeout.CancelAfter(ConnectTimeout);
                await connection.Upstream.ConnectAsync(_target, connectTimeout.Token);
            }

            // Both directions end on their own (EOF passed on as a half-close); an error in either ends both.
            var up = PumpAsync(connection.Client, connection.Upstream, towardsClient: false, cancellationToken);
            var down = PumpAsync(connection.Upstream, connection.Client, towardsClient: true, cancellationToken);
            var first = await Task.WhenAny(up, down);
            if (first.IsFaulted || first.IsCanceled)
            {
                connection.Abort();
            }

            await Task.WhenAll(up, down);
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
        {
            // The connection ends; its sockets are closed below.
        }
        finally
        {
            connection.Abort();
        }
    }

    private async Task PumpAsync(Socket source, Socket destination, bool towardsClient, CancellationToken cancellationToken)
    {
        var buffer = new byte[BufferSize];
        var due = DateTime.UtcNow;
        while (true)
        {
            await WaitHealedAsync(cancellationToken, towardsClient);
            var read = await source.ReceiveAsync(buffer.AsMemory(), SocketFlags.None, cancellationToken);
            // Data that arrives during a partition is held here; meanwhile nothing more is read, so the
            // sender's kernel buffers fill and TCP flow control stalls it, as on a dead link.
            await WaitHealedAsync(cancellationToken, towardsClient);
            if (read == 0)
            {
                destination.Shutdown(SocketShutdown.Send);
                return;
            }

            // Degraded: forward no earlier than read time + delay, and never before the chunk ahead of it.
            var delay = DelayOfNextChunk();
            if (delay > TimeSpan.Zero)
            {
                var readAt = DateTime.UtcNow;
                due = readAt + delay > due ? readAt + delay : due;
                var wait = due - DateTime.UtcNow;
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, cancellationToken);
                }
            }

            var sent = 0;
            while (sent < read)
            {
                sent += await destination.SendAsync(buffer.AsMemory(sent, read - sent), SocketFlags.None, cancellationToken);
            }
        }
    }

    private sealed class Connection
    {
        private int _aborted;

        public Connection(Socket client)
        {
            Client = client;
            Client.NoDelay = true;
        }

        public Socket Client { get; }

        public Socket Upstream { get; } = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };

        public Task Completion { get; set; } = Task.CompletedTask;

        public void Abort()
        {
            if (Interlocked.Exchange(ref _aborted, 1) == 0)
            {
                Client.Dispose();
                Upstream.Dispose();
            }
        }
    }
}
