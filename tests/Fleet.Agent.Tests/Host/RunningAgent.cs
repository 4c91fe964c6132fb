using Fleet.Hosting.Grpc;
using Fleet.Agent.Collection;
using Fleet.Agent.State;
using Fleet.Protos.V1;
using Grpc.Net.Client;
using Fleet.Testing.Hosting;
using Fleet.LocalFleet.Postgres;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Fleet.Agent.Tests.Host;

/// <summary>
/// A real fleet-agent built by <see cref="AgentHost.Build"/> and started in-process, its gRPC and HTTP
/// listeners on kernel-chosen loopback ports (":0", so no port can be taken between picking and binding).
/// Everything it logs is kept in <see cref="Logs"/>.
/// </summary>
internal sealed class RunningAgent : IAsyncDisposable
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Bound for one call to the agent, including a CollectNow on a busy 2-core machine.</summary>
    public static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(20);

    private readonly WebApplication _app;

    private RunningAgent(WebApplication app, CollectingLoggerProvider logs, Uri grpc, Uri http)
    {
        _app = app;
        Logs = logs;
        GrpcAddress = grpc;
        HttpAddress = http;
        Channel = GrpcChannels.ForAddress(grpc);
        Http = new HttpClient { BaseAddress = http, Timeout = CallTimeout };
        Client = new AgentClient(Channel);
    }

    public Uri GrpcAddress { get; }

    public Uri HttpAddress { get; }

    public GrpcChannel Channel { get; }

    public AgentClient Client { get; }

    /// <summary>HTTP/1.1 client for /metrics and the role checks.</summary>
    public HttpClient Http { get; }

    public CollectingLoggerProvider Logs { get; }

    public AgentState State => _app.Services.GetRequiredService<AgentState>();

    public SnapshotBoard Board => _app.Services.GetRequiredService<SnapshotBoard>();

    /// <summary>The minimum an agent needs: identity, listeners on free ports, quiet console (the collected logs keep everything).</summary>
    public static Dictionary<string, string?> BaseSettings(string name) => new()
    {
        ["Node:Name"] = name,
        ["Node:Cluster"] = "agent-tests",
        ["Node:Region"] = "test-region",
        ["Listen:Grpc"] = "127.0.0.1:0",
        ["Listen:Http"] = "127.0.0.1:0",
        ["Logging:LogLevel:Default"] = "Information",
        ["Logging:Console:LogLevel:Default"] = "Warning",
    };

    /// <summary>Settings for an agent of <paramref name="node"/> over TCP, collecting every <paramref name="interval"/>.</summary>
    public static Dictionary<string, string?> SettingsFor(IPostgresNode node, TimeSpan interval)
    {
        var settings = BaseSettings(node.Name);
        settings["Postgres:Host"] = node.Host;
        settings["Postgres:Port"] = node.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["Postgres:DataDirectory"] = node.DataDirectory;
        settings["Collection:Interval"] = interval.ToString();
        // The validator wants the statement timeout under five intervals.
        settings["Postgres:StatementTimeout"] = TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(2).Ticks, interval.Ticks * 4)).ToString();
        return settings;
    }

    /// <summary>Settings for an agent whose PostgreSQL is absent: a Unix socket directory that does not exist (DOWN at once, no port involved).</summary>
    public static Dictionary<string, string?> SettingsWithoutPostgres(string name, TimeSpan interval)
    {
        var settings = BaseSettings(name);
        settings["Postgres:Host"] = Path.Combine(Path.GetTempPath(), "fleet-agent-tests-no-postgres-" + Guid.NewGuid().ToString("N"));
        settings["Collection:Interval"] = interval.ToString();
        settings["Postgres:StatementTimeout"] = TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(2).Ticks, interval.Ticks * 4)).ToString();
        return settings;
    }

    public static async Task<RunningAgent> StartAsync(IReadOnlyDictionary<string, string?> settings, string? configFile = null)
    {
        var app = AgentHost.Build(configFile, settings);
        var logs = new CollectingLoggerProvider();
        app.Services.GetRequiredService<ILoggerFactory>().AddProvider(logs);
        try
        {
            using var timeout = new CancellationTokenSource(StartTimeout);
            await app.StartAsync(timeout.Token).WaitAsync(StartTimeout);
            var addresses = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses
                .Select(a => new Uri(a)).ToList();
            if (addresses.Count != 2)
            {
                throw new InvalidOperationException($"Expected a gRPC and an HTTP listener, got: {string.Join(", ", addresses)}");
            }

            // Kestrel binds (and lists) endpoints in the order AgentHost configures them: gRPC, then HTTP.
            return new RunningAgent(app, logs, Loopback(addresses[0]), Loopback(addresses[1]));
        }
        catch (Exception e)
        {
            await app.DisposeAsync();
            throw new InvalidOperationException("The agent did not start. Its log:\n" + string.Join('\n', logs.Entries), e);
        }
    }

    public Task<GetStatusResponse> GetStatusAsync() => Client.GetStatusAsync();

    /// <summary>Polls GetStatus until <paramref name="condition"/> holds; fails with the last status after <paramref name="timeout"/>.</summary>
    public Task<GetStatusResponse> WaitForStatusAsync(Func<GetStatusResponse, bool> condition, TimeSpan timeout, string what) =>
        Eventually.ReturnsAsync(GetStatusAsync, condition, timeout, what);

    /// <summary>Status code and body of a role check (or any HTTP path) over HTTP/1.1.</summary>
    public async Task<(int Status, string Body)> HttpAsync(HttpMethod method, string path)
    {
        using var request = new HttpRequestMessage(method, path);
        using var timeout = new CancellationTokenSource(CallTimeout);
        using var response = await Http.SendAsync(request, timeout.Token).WaitAsync(CallTimeout);
        var body = await response.Content.ReadAsStringAsync(timeout.Token).WaitAsync(CallTimeout);
        return ((int)response.StatusCode, body);
    }

    public Task<(int Status, string Body)> GetAsync(string path) => HttpAsync(HttpMethod.Get, path);

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        Channel.Dispose();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            await _app.StopAsync(timeout.Token).WaitAsync(TimeSpan.FromSeconds(20));
        }
        finally
        {
            await _app.DisposeAsync();
        }
    }

    private static Uri Loopback(Uri bound) => new($"http://127.0.0.1:{bound.Port}");
}
