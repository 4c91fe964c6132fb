using Fleet.Agent.Actions;
using Fleet.Agent.Collection;
using Fleet.Agent.Configuration;
using Fleet.Agent.State;
using Fleet.Protos.V1;
using Grpc.Core;
using Fleet.Hosting;
using Fleet.Hosting.Grpc;
using Microsoft.Extensions.Options;

namespace Fleet.Agent.Link;

/// <summary>
/// Keeps the agent linked to its region's aggregators: one loop per configured endpoint, each running one
/// <see cref="LinkSession"/> at a time and reconnecting with jittered backoff. Links to aggregators that are
/// coordinated (one leader acts) stay open together; an aggregator that acts alone is linked alone
/// (<see cref="LinkAdmission"/>). Thin: the sessions do the work.
/// </summary>
internal sealed class LinkClient(
    IOptions<AgentOptions> options,
    SnapshotBoard board,
    AgentState state,
    AgentCommandDispatcher dispatcher,
    LeaseClock lease,
    DetectionTiming detection,
    TimeProvider time,
    ILogger<LinkClient> logger) : BackgroundService
{
    /// <summary>After a refusal (wrong region, duplicate name) retrying fast only floods the aggregator's log.</summary>
    private static readonly TimeSpan RejectedRetryDelay = TimeSpan.FromSeconds(30);

    private readonly LinkAdmission _admission = new();

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var endpoints = options.Value.Aggregator.Endpoints;
        if (endpoints.Count == 0)
        {
            LinkLog.Standalone(logger);
            return Task.CompletedTask;
        }

        var clientOptions = CreateClientOptions(options.Value.Tls);
        return Task.WhenAll(endpoints.Distinct(StringComparer.Ordinal).Select(endpoint => KeepLinkedAsync(endpoint, clientOptions, stoppingToken)));
    }

    private async Task KeepLinkedAsync(string endpoint, GrpcClientOptions clientOptions, CancellationToken stoppingToken)
    {
        var config = options.Value;
        var backoff = new ReconnectBackoff(config.Aggregator.ReconnectMinDelay, config.Aggregator.ReconnectMaxDelay, new Random());
        while (!stoppingToken.IsCancellationRequested)
        {
            state.SetLinkState(endpoint, LinkState.Connecting);
            var delay = TimeSpan.Zero;
            long? welcomedAt = null;
            try
            {
                using var channel = GrpcChannels.ForAddress(endpoint, clientOptions);
                var session = new LinkSession(endpoint, _admission, config, board, state, dispatcher, lease, detection, time, logger);
                session.Welcomed += () => welcomedAt = time.GetTimestamp();
                await session.RunAsync(new AgentLink.AgentLinkClient(channel), stoppingToken);
            }
            catch (Exception) when (stoppingToken.IsCancellationRequested)
            {
                // Shutting down: the session ended because we stopped it, not because the link was lost.
                break;
            }
            catch (LinkRejectedException ex)
            {
                state.SetLinkState(endpoint, LinkState.Rejected, ex.Message);
                LinkLog.Rejected(logger, endpoint, ex.Message);
                delay = RejectedRetryDelay;
            }
            catch (RpcException ex) when (ex.StatusCode is StatusCode.PermissionDenied or StatusCode.AlreadyExists or StatusCode.Unauthenticated)
            {
                state.SetLinkState(endpoint, LinkState.Rejected, ex.Status.Detail);
                LinkLog.Rejected(logger, endpoint, ex.Status.Detail);
                delay = RejectedRetryDelay;
            }
            catch (LinkHeldBackException ex)
            {
                state.SetLinkState(endpoint, LinkState.Disconnected, ex.Message);
                LinkLog.HeldBack(logger, endpoint, ex.Message);
            }
            catch (Exception ex)
            {
                var reason = ex is RpcException rpc ? $"{rpc.StatusCode}: {rpc.Status.Detail}" : ex.Message;
                state.SetLinkState(endpoint, LinkState.Disconnected, reason);
                LinkLog.Disconnected(logger, endpoint, reason);
            }

            if (delay == TimeSpan.Zero)
            {
                // Every way a session ends backs off; only a session that stayed up a while starts the backoff over,
                // so a link that is welcomed and then fails at once (an aggregator going down) cannot spin.
                backoff.SessionEnded(welcomedAt is { } since ? time.GetElapsedTime(since) : null);
                delay = backoff.Next();
            }

            try
            {
                await Task.Delay(delay, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    /// <summary>HTTP/2 pings every 10 s on the open link: a silent aggregator is noticed within 15 s.</summary>
    private static GrpcClientOptions CreateClientOptions(TlsFileOptions tls)
    {
        var clientOptions = new GrpcClientOptions { KeepAlivePingDelay = TimeSpan.FromSeconds(10), KeepAlivePingTimeout = TimeSpan.FromSeconds(5) };
        if (tls.Enabled)
        {
            clientOptions.ClientCertificate = PemFiles.LoadCertificateWithKey(tls.CertificateFile!, tls.KeyFile!);
            clientOptions.ServerCertificateAuthority = PemFiles.LoadCertificate(tls.CaFile!);
        }

        return clientOptions;
    }
}
