using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Fleet.Agent.Tests.Configuration;

/// <summary>
/// Just enough of the PostgreSQL wire protocol to make a client authenticate: it declines TLS and GSS
/// encryption, asks for a cleartext password, records it, and answers with the configured FATAL error.
/// The test cluster uses trust authentication, so this is how a test sees the password the agent sends
/// and what the agent does with an error that mentions it.
/// </summary>
internal sealed class FakePostgresServer : IAsyncDisposable
{
    private const int SslRequest = 80877103;
    private const int GssEncRequest = 80877104;

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<string> _passwords = new();
    private readonly Task _accepting;

    public FakePostgresServer(string sqlState, Func<string, string> message)
    {
        _listener.Start();
        _accepting = AcceptAsync(sqlState, message);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Every password a client sent, in order.</summary>
    public IReadOnlyCollection<string> Passwords => _passwords;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _accepting.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync(string sqlState, Func<string, string> message)
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            _ = Task.Run(async () =>
            {
                using (client)
                {
                    try
                    {
                        await ServeAsync(client.GetStream(), sqlState, message);
                    }
                    catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or EndOfStreamException)
                    {
                        // The client went away; the test looks at what was recorded.
                    }
                }
            });
        }
    }

    private async Task ServeAsync(NetworkStream stream, string sqlState, Func<string, string> message)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        var token = timeout.Token;
        while (true)
        {
            var length = await ReadInt32Async(stream, token);
            var body = await ReadExactlyAsync(stream, length - 4, token);
            var code = BinaryPrimitives.ReadInt32BigEndian(body);
            if (code is SslRequest or GssEncRequest)
            {
                await stream.WriteAsync("N"u8.ToArray(), token);
                continue;
            }

            break; // the StartupMessage
        }

        // AuthenticationCleartextPassword.
        await stream.WriteAsync(new byte[] { (byte)'R', 0, 0, 0, 8, 0, 0, 0, 3 }, token);
        var type = await ReadExactlyAsync(stream, 1, token);
        if (type[0] != (byte)'p')
        {
            return;
        }

        var passwordMessage = await ReadExactlyAsync(stream, await ReadInt32Async(stream, token) - 4, token);
        var password = Encoding.UTF8.GetString(passwordMessage.AsSpan().TrimEnd((byte)0));
        _passwords.Enqueue(password);

        var fields = new MemoryStream();
        foreach (var (field, value) in new[] { ('S', "FATAL"), ('V', "FATAL"), ('C', sqlState), ('M', message(password)) })
        {
            fields.WriteByte((byte)field);
            fields.Write(Encoding.UTF8.GetBytes(value));
            fields.WriteByte(0);
        }

        fields.WriteByte(0);
        var error = new byte[5 + fields.Length];
        error[0] = (byte)'E';
        BinaryPrimitives.WriteInt32BigEndian(error.AsSpan(1), (int)fields.Length + 4);
        fields.ToArray().CopyTo(error, 5);
        await stream.WriteAsync(error, token);
        await stream.FlushAsync(token);
    }

    private static async Task<int> ReadInt32Async(NetworkStream stream, CancellationToken token) =>
        BinaryPrimitives.ReadInt32BigEndian(await ReadExactlyAsync(stream, 4, token));

    private static async Task<byte[]> ReadExactlyAsync(NetworkStream stream, int count, CancellationToken token)
    {
        var buffer = new byte[count];
        await stream.ReadExactlyAsync(buffer, token);
        return buffer;
    }
}
