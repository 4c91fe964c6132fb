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
/// Keeps the agent connected to its aggregator: dials the configured endpoints in turn, runs one
/// <see cref="LinkSession"/> at a time and reconnects with jittered backoff. Thin: the session does the work.
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

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var config = options.Value;
        var endpoints = config.Aggregator.Endpoints;
        if (endpoints.Count == 0)
        {
            LinkLog.Standalone(logger);
            return;
        }

        var backoff = new ReconnectBackoff(config.Aggregator.ReconnectMinDelay, config.Aggregator.ReconnectMaxDelay, new Random());
        var clientOptions = CreateClientOptions(config.Tls);
        for (var attempt = 0; !stoppingToken.IsCancellationRequested; attempt++)
        {
            var endpoint = endpoints[attempt % endpoints.Count];
            state.SetLinkAddress(endpoint);
            state.SetLinkState(LinkState.Connecting);
            var delay = TimeSpan.Zero;
            long? welcomedAt = null;
            try
            {
                using var channel = GrpcChannels.ForAddress(endpoint, clientOptions);
                var session = new LinkSession(config, board, state, dispatcher, lease, detection, time, logger);
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
                state.SetLinkState(LinkState.Rejected, ex.Message);
                LinkLog.Rejected(logger, endpoint, ex.Message);
                delay = RejectedRetryDelay;
            }
            catch (RpcException ex) when (ex.StatusCode is StatusCode.PermissionDenied or StatusCode.AlreadyExists or StatusCode.Unauthenticated)
            {
                state.SetLinkState(LinkState.Rejected, ex.Status.Detail);
                LinkLog.Rejected(logger, endpoint, ex.Status.Detail);
                delay = RejectedRetryDelay;
            }
            catch (Exception ex)
            {
                var reason = ex is RpcException rpc ? $"{rpc.StatusCode}: {rpc.Status.Detail}" : ex.Message;
                state.SetLinkState(LinkState.Disconnected, reason);
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
