using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using Fleet.Protos.V1;
using Grpc.Core;
using Fleet.Hosting.Grpc;
using Fleet.Testing.Hosting;
using Google.Protobuf.WellKnownTypes;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace Fleet.Agent.Tests.Link;

/// <summary>How the fake aggregator answers a new AgentLink.Connect stream.</summary>
public enum AggregatorBehaviour
{
    /// <summary>Reads the hello, welcomes the agent (unless <see cref="FakeAggregator.AutoWelcome"/> is off) and hands the stream to the test.</summary>
    Accept,

    /// <summary>Reads the hello and ends the stream (status OK) without a Welcome.</summary>
    HangUpAfterHello,

    /// <summary>Reads the hello, answers Welcome{accepted=false} and ends the stream with FAILED_PRECONDITION, as the real one does.</summary>
    RejectInWelcome,

    /// <summary>Refuses the stream with PERMISSION_DENIED before reading anything (a foreign region under mTLS).</summary>
    PermissionDenied,
}

/// <summary>
/// A scripted regional aggregator: a real gRPC server (<see cref="GrpcTestServer"/>) implementing
/// fleet.v1.AgentLink, recording every connection attempt and hello, and handing accepted streams to the
/// test as <see cref="LinkConnection"/>s.
/// </summary>
internal sealed class FakeAggregator : IAsyncDisposable
{
    public const string AggregatorId = "fake-aggregator-1";

    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly ConcurrentQueue<TimeSpan> _attempts = new();
    private readonly ConcurrentQueue<(AgentHello Hello, TimeSpan At)> _hellos = new();
    private readonly Channel<LinkConnection> _connections = Channel.CreateUnbounded<LinkConnection>();
    private GrpcTestServer? _server;
    private bool _disposed;

    private FakeAggregator()
    {
    }

    public volatile AggregatorBehaviour Behaviour = AggregatorBehaviour.Accept;

    /// <summary>Send the Welcome as soon as the hello is read (default); off lets the test choose when.</summary>
    public volatile bool AutoWelcome = true;

    /// <summary>Envelope epoch of the automatic Welcome.</summary>
    public ulong WelcomeEpoch { get; set; }

    /// <summary>What the automatic Welcome says: one of several coordinated aggregators (Mode Etcd), and whether it leads.</summary>
    public bool Coordinated { get; set; }

    public bool Leader { get; set; } = true;

    public string RejectReason { get; set; } = "node name already connected from another agent";

    public string Endpoint => $"http://127.0.0.1:{Server.Port}";

    public GrpcTestServer Server => _server ?? throw new InvalidOperationException("Not started.");

    /// <summary>Time since the fake started (monotonic): when attempts and hellos arrived.</summary>
    public TimeSpan Now => _clock.Elapsed;

    /// <summary>When each Connect call arrived, accepted or not.</summary>
    public IReadOnlyList<TimeSpan> Attempts => [.. _attempts];

    /// <summary>Every hello read, with its arrival time.</summary>
    public IReadOnlyList<(AgentHello Hello, TimeSpan At)> Hellos => [.. _hellos];

    /// <summary>Starts the fake on a free loopback port; <paramref name="kestrel"/> may tune Kestrel (e.g. HTTP/2 windows).</summary>
    public static async Task<FakeAggregator> StartAsync(Action<KestrelServerOptions>? kestrel = null)
    {
        var fake = new FakeAggregator();
        fake._server = await GrpcTestServer.StartAsync(
            services =>
            {
                services.AddSingleton(new AgentLinkService(fake));
                if (kestrel is not null)
                {
                    services.Configure(kestrel);
                }
            },
            endpoints => endpoints.MapFleetGrpcService<AgentLinkService>(AgentLink.Descriptor)).WaitAsync(TimeSpan.FromSeconds(30));
        return fake;
    }

    /// <summary>The next accepted stream; fails the test after <paramref name="timeout"/>.</summary>
    public async Task<LinkConnection> NextConnectionAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            return await _connections.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"No agent connected within {timeout.TotalSeconds:F0} s (attempts: {_attempts.Count}).");
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        // A test may stop the fake early (an aggregator going away); the using at its end then finds it stopped.
        if (_server is not null && !_disposed)
        {
            _disposed = true;
            await _server.DisposeAsync();
        }
    }

    private async Task ConnectAsync(IAsyncStreamReader<AgentMessage> requests, IServerStreamWriter<AggregatorCommand> responses, ServerCallContext context)
    {
        _attempts.Enqueue(Now);
        var behaviour = Behaviour;
        if (behaviour == AggregatorBehaviour.PermissionDenied)
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, "agent of region 'elsewhere' refused by the aggregator of region 'test-region'"));
        }

        if (!await requests.MoveNext(context.CancellationToken))
        {
            return;
        }

        var hello = requests.Current.Hello ?? throw new RpcException(new Status(StatusCode.InvalidArgument, "the first message must be a hello"));
        var helloAt = Now;
        _hellos.Enqueue((hello, helloAt));
        switch (behaviour)
        {
            case AggregatorBehaviour.HangUpAfterHello:
                return;
            case AggregatorBehaviour.RejectInWelcome:
                await responses.WriteAsync(new AggregatorCommand { Welcome = new Welcome { Accepted = false, Reason = RejectReason, AggregatorId = AggregatorId } });
                throw new RpcException(new Status(StatusCode.FailedPrecondition, RejectReason));
        }

        var connection = new LinkConnection(hello, helloAt, requests, responses, _clock);
        if (AutoWelcome)
        {
            await connection.WelcomeAsync(WelcomeEpoch, Coordinated, Leader);
        }

        _connections.Writer.TryWrite(connection);
        await connection.RunAsync(context.CancellationToken);
    }

    /// <summary>The fleet.v1.AgentLink service the fake serves.</summary>
    internal sealed class AgentLinkService(FakeAggregator owner) : AgentLink.AgentLinkBase
    {
        public override Task Connect(IAsyncStreamReader<AgentMessage> requests, IServerStreamWriter<AggregatorCommand> responses, ServerCallContext context) =>
            owner.ConnectAsync(requests, responses, context);
    }
}

/// <summary>One accepted AgentLink.Connect stream, seen from the aggregator's side.</summary>
internal sealed class LinkConnection
{
    private readonly IAsyncStreamReader<AgentMessage> _requests;
    private readonly IServerStreamWriter<AggregatorCommand> _responses;
    private readonly Stopwatch _clock;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Channel<(AgentMessage Message, TimeSpan At)> _received = Channel.CreateUnbounded<(AgentMessage, TimeSpan)>();
    private readonly TaskCompletionSource _close = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile TaskCompletionSource _reading;

    public LinkConnection(AgentHello hello, TimeSpan helloAt, IAsyncStreamReader<AgentMessage> requests, IServerStreamWriter<AggregatorCommand> responses, Stopwatch clock)
    {
        Hello = hello;
        HelloAt = helloAt;
        _requests = requests;
        _responses = responses;
        _clock = clock;
        _reading = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _reading.SetResult();
    }

    public AgentHello Hello { get; }

    public TimeSpan HelloAt { get; }

    /// <summary>Completes when the handler has returned (the stream is over on the aggregator's side).</summary>
    public Task Ended => _ended.Task;

    /// <summary>When <see cref="Close"/> was called, on the fake's clock.</summary>
    public TimeSpan ClosedAt { get; private set; }

    public Task WelcomeAsync(ulong epoch = 0, bool coordinated = false, bool leader = true) => SendAsync(new AggregatorCommand
    {
        CommandId = "welcome-" + Guid.NewGuid().ToString("N"),
        Epoch = epoch,
        Welcome = new Welcome
        {
            Accepted = true,
            AggregatorId = FakeAggregator.AggregatorId,
            Region = "test-region",
            Leader = leader,
            Coordinated = coordinated,
            ReportInterval = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)),
            LeaseDuration = Duration.FromTimeSpan(TimeSpan.FromSeconds(10)),
            ServerTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
        },
    });

    public async Task SendAsync(AggregatorCommand command)
    {
        await _writeLock.WaitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        try
        {
            await _responses.WriteAsync(command).WaitAsync(TimeSpan.FromSeconds(10));
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>The next message the agent sent (in order); fails the test after <paramref name="timeout"/>.</summary>
    public async Task<(AgentMessage Message, TimeSpan At)> NextAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            return await _received.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"The agent sent nothing within {timeout.TotalSeconds:F0} s.");
            throw;
        }
        catch (ChannelClosedException)
        {
            Assert.Fail("The stream ended before the agent sent another message.");
            throw;
        }
    }

    /// <summary>Messages already read off the stream and not yet taken by the test.</summary>
    public List<(AgentMessage Message, TimeSpan At)> TakeBuffered()
    {
        var taken = new List<(AgentMessage, TimeSpan)>();
        while (_received.Reader.TryRead(out var item))
        {
            taken.Add(item);
        }

        return taken;
    }

    /// <summary>Stops reading the request stream after the message being read: HTTP/2 flow control then pushes back on the agent.</summary>
    public void PauseReading() => _reading = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void ResumeReading() => _reading.TrySetResult();

    /// <summary>Ends the stream from the aggregator's side with status OK.</summary>
    public void Close()
    {
        ClosedAt = _clock.Elapsed;
        _close.TrySetResult();
    }

    internal async Task RunAsync(CancellationToken callCancelled)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(callCancelled);
        var pump = PumpAsync(stop.Token);
        try
        {
            await Task.WhenAny(pump, _close.Task);
            await stop.CancelAsync();
            try
            {
                await pump;
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException or RpcException)
            {
                // Stopped by Close(), or the agent went away.
            }
        }
        finally
        {
            _received.Writer.TryComplete();
            _ended.TrySetResult();
        }
    }

    private async Task PumpAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            await _reading.Task.WaitAsync(cancellationToken);
            if (!await _requests.MoveNext(cancellationToken))
            {
                return;
            }

            _received.Writer.TryWrite((_requests.Current, _clock.Elapsed));
        }
    }
}
