using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Fleet.Aggregator.Tests.Dashboard;

/// <summary>A DevTools protocol command that Chromium answered with an error.</summary>
internal sealed class DevToolsException(string message) : Exception(message);

/// <summary>
/// A minimal Chrome DevTools protocol client over one WebSocket to the browser target: commands with
/// ids and replies, "flat" sessions for attached targets (the sessionId field), events to a callback.
/// Every command is bounded in time, so a stuck browser fails the test instead of hanging it.
/// </summary>
internal sealed class DevToolsConnection : IAsyncDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(30);

    private readonly ClientWebSocket _socket;
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonObject>> _pending = new();
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _receiving;
    private int _nextId;
    private volatile string? _closedReason;

    private DevToolsConnection(ClientWebSocket socket, Action<string, string?, JsonObject> onEvent)
    {
        _socket = socket;
        _receiving = Task.Run(() => ReceiveLoopAsync(onEvent));
    }

    /// <summary>Connects to a DevTools WebSocket; <paramref name="onEvent"/> gets (method, sessionId, params) on the receive thread.</summary>
    public static async Task<DevToolsConnection> ConnectAsync(Uri url, Action<string, string?, JsonObject> onEvent, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(CommandTimeout);
            await socket.ConnectAsync(url, timeout.Token);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return new DevToolsConnection(socket, onEvent);
    }

    /// <summary>Sends a command (to the browser, or to an attached target's session) and returns its result.</summary>
    public async Task<JsonObject> SendAsync(string method, JsonObject? parameters = null, string? sessionId = null, CancellationToken cancellationToken = default)
    {
        var id = Interlocked.Increment(ref _nextId);
        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters ?? [] };
        if (sessionId is not null)
        {
            message["sessionId"] = sessionId;
        }

        var reply = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = reply;
        try
        {
            if (_closedReason is { } reason)
            {
                throw new DevToolsException($"{method}: the DevTools connection is closed ({reason})");
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(CommandTimeout);
            var bytes = Encoding.UTF8.GetBytes(message.ToJsonString());
            await _sendLock.WaitAsync(timeout.Token);
            try
            {
                await _socket.SendAsync(bytes, WebSocketMessageType.Text, endOfMessage: true, timeout.Token);
            }
            finally
            {
                _sendLock.Release();
            }

            JsonObject answer;
            try
            {
                answer = await reply.Task.WaitAsync(timeout.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"Chromium did not answer {method} within {CommandTimeout.TotalSeconds:0} s.");
            }

            if (answer["error"] is JsonObject error)
            {
                throw new DevToolsException($"{method}: {error["message"]} ({error["data"]})");
            }

            return answer["result"] as JsonObject ?? [];
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            if (_socket.State == WebSocketState.Open)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Chromium may already be gone; closing is a courtesy.
        }

        _socket.Abort();
        await _receiving.WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { }, TaskScheduler.Default);
        _socket.Dispose();
        _stop.Dispose();
        _sendLock.Dispose();
    }

    private async Task ReceiveLoopAsync(Action<string, string?, JsonObject> onEvent)
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var received = await _socket.ReceiveAsync(buffer, _stop.Token);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    _closedReason = "Chromium closed it";
                    break;
                }

                message.Write(buffer, 0, received.Count);
                if (!received.EndOfMessage)
                {
                    continue;
                }

                var parsed = JsonNode.Parse(message.GetBuffer().AsSpan(0, (int)message.Length)) as JsonObject;
                message.SetLength(0);
                if (parsed is null)
                {
                    continue;
                }

                if (parsed["id"] is JsonValue idValue && idValue.TryGetValue<int>(out var id))
                {
                    if (_pending.TryGetValue(id, out var reply))
                    {
                        reply.TrySetResult(parsed);
                    }
                }
                else if (parsed["method"]?.GetValue<string>() is { } method)
                {
                    onEvent(method, parsed["sessionId"]?.GetValue<string>(), parsed["params"] as JsonObject ?? []);
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            _closedReason = "disposed";
        }
        catch (Exception ex) when (ex is WebSocketException or System.Text.Json.JsonException or ObjectDisposedException)
        {
            _closedReason = ex.Message;
        }
        finally
        {
            _closedReason ??= "closed";
            foreach (var pending in _pending.Values)
            {
                pending.TrySetException(new DevToolsException("The DevTools connection closed before the answer: " + _closedReason));
            }
        }
    }
}
