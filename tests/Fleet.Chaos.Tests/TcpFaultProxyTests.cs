using System.Net;
using System.Net.Sockets;
using System.Text;
using Fleet.Chaos.Faults;

namespace Fleet.Chaos.Tests;

/// <summary>The fault proxy itself, against a loopback echo server (no Postgres, no fleet).</summary>
public sealed class TcpFaultProxyTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    // How long "nothing arrives" is watched for: absence has no event to wait on.
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(300);

    [Fact]
    public async Task Forwards_BothDirections()
    {
        await using var echo = EchoServer.Start();
        await using var proxy = TcpFaultProxy.Start(echo.EndPoint);
        using var client = await ConnectAsync(proxy);

        await SendAsync(client, "ping");

        Assert.Equal("ping", await ReceiveAsync(client, 4, Timeout));
    }

    [Fact]
    public async Task Partition_HoldsBytesWithoutClosing_HealDeliversThem()
    {
        await using var echo = EchoServer.Start();
        await using var proxy = TcpFaultProxy.Start(echo.EndPoint);
        using var client = await ConnectAsync(proxy);
        await SendAsync(client, "a");
        Assert.Equal("a", await ReceiveAsync(client, 1, Timeout));

        proxy.Partition();
        await SendAsync(client, "bc");
        await Task.Delay(Quiet);

        Assert.Equal(1, echo.BytesReceived); // nothing crossed the partition
        Assert.True(proxy.IsPartitioned);
        proxy.Heal();
        Assert.Equal("bc", await ReceiveAsync(client, 2, Timeout)); // the same connection carries on
        Assert.Equal(1, proxy.AcceptedConnections);
    }

    [Fact]
    public async Task NewConnectionDuringPartition_IsAcceptedButNotForwarded_UntilHealed()
    {
        await using var echo = EchoServer.Start();
        await using var proxy = TcpFaultProxy.Start(echo.EndPoint);
        proxy.Partition();

        using var client = await ConnectAsync(proxy);
        await SendAsync(client, "x");
        await Task.Delay(Quiet);

        Assert.Equal(0, echo.Accepted);
        proxy.Heal();
        Assert.Equal("x", await ReceiveAsync(client, 1, Timeout));
        Assert.Equal(1, echo.Accepted);
    }

    [Fact]
    public async Task Dispose_ClosesClientConnections()
    {
        await using var echo = EchoServer.Start();
        var proxy = TcpFaultProxy.Start(echo.EndPoint);
        using var client = await ConnectAsync(proxy);
        await SendAsync(client, "a");
        Assert.Equal("a", await ReceiveAsync(client, 1, Timeout));
        proxy.Partition();

        await proxy.DisposeAsync();

        using var timeout = new CancellationTokenSource(Timeout);
        var buffer = new byte[1];
        try
        {
            Assert.Equal(0, await client.ReceiveAsync(buffer, SocketFlags.None, timeout.Token));
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
        {
            // Closed with unread data: a reset is a close too.
        }

        Assert.Equal(0, proxy.OpenConnections);
    }

    private static async Task<Socket> ConnectAsync(TcpFaultProxy proxy)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(proxy.EndPoint);
        return socket;
    }

    private static async Task SendAsync(Socket socket, string text) =>
        await socket.SendAsync(Encoding.ASCII.GetBytes(text), SocketFlags.None);

    private static async Task<string> ReceiveAsync(Socket socket, int count, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        var buffer = new byte[count];
        var received = 0;
        while (received < count)
        {
            var read = await socket.ReceiveAsync(buffer.AsMemory(received), SocketFlags.None, cancel.Token);
            if (read == 0)
            {
                break;
            }

            received += read;
        }

        return Encoding.ASCII.GetString(buffer, 0, received);
    }

    /// <summary>Echoes every byte back; counts connections and bytes. Loopback only, at most 8 connections.</summary>
    private sealed class EchoServer : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private readonly List<Task> _connections = [];
        private readonly List<Socket> _sockets = [];
        private Task _accept = Task.CompletedTask;
        private int _accepted;
        private long _bytes;

        public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

        public int Accepted => Volatile.Read(ref _accepted);

        public long BytesReceived => Interlocked.Read(ref _bytes);

        public static EchoServer Start()
        {
            var server = new EchoServer();
            server._listener.Start();
            server._accept = Task.Run(server.AcceptAsync);
            return server;
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            lock (_sockets)
            {
                _sockets.ForEach(s => s.Dispose());
            }

            try
            {
                await Task.WhenAll([_accept, .. _connections]).WaitAsync(Timeout);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // Stopped.
            }

            _stop.Dispose();
        }

        private async Task AcceptAsync()
        {
            while (Accepted < 8)
            {
                var socket = await _listener.AcceptSocketAsync(_stop.Token);
                Interlocked.Increment(ref _accepted);
                lock (_sockets)
                {
                    _sockets.Add(socket);
                }

                _connections.Add(EchoAsync(socket));
            }
        }

        private async Task EchoAsync(Socket socket)
        {
            var buffer = new byte[1024];
            while (true)
            {
                var read = await socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (read == 0)
                {
                    return;
                }

                Interlocked.Add(ref _bytes, read);
                await socket.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stop.Token);
            }
        }
    }
}
