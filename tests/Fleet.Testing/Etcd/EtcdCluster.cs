using System.Globalization;
using Fleet.LocalFleet.Postgres;

namespace Fleet.Testing.Etcd;

/// <summary>
/// A real etcd cluster for tests: members of the installed etcd (Debian's etcd-server, or FLEET_ETCD) on loopback
/// ports, each in a directory under one temporary root that disposal removes. Members can be stopped and started
/// again (same data directory) to take quorum away and give it back.
/// </summary>
public sealed class EtcdCluster : IAsyncDisposable
{
    private readonly string _root;
    private readonly int _basePort;
    private readonly ChildDaemon?[] _members;
    private readonly string _initialCluster;
    private readonly string _token = "fleet-test-" + Guid.NewGuid().ToString("N")[..8];

    private EtcdCluster(int size)
    {
        _root = Directory.CreateTempSubdirectory("fleet-etcd-").FullName;
        _basePort = FreeTcpPort.PickConsecutive(size * 2);
        _members = new ChildDaemon?[size];
        _initialCluster = string.Join(",", Enumerable.Range(0, size).Select(i => $"{Name(i)}={PeerUrl(i)}"));
    }

    /// <summary>The client URLs of every member, in order.</summary>
    public IReadOnlyList<string> Endpoints => [.. Enumerable.Range(0, _members.Length).Select(ClientUrl)];

    public int Size => _members.Length;

    public string ClientUrl(int member) => $"http://127.0.0.1:{_basePort + member}";

    /// <summary>The installed etcd: FLEET_ETCD, else /usr/bin/etcd (package etcd-server).</summary>
    public static string Executable =>
        Environment.GetEnvironmentVariable("FLEET_ETCD") is { Length: > 0 } configured ? configured
        : File.Exists("/usr/bin/etcd") ? "/usr/bin/etcd"
        : throw new InvalidOperationException("etcd is not installed: run scripts/install-deps.sh (Debian package etcd-server), or set FLEET_ETCD to an etcd 3.4+ binary");

    public static async Task<EtcdCluster> StartAsync(int size = 3)
    {
        var cluster = new EtcdCluster(size);
        try
        {
            for (var i = 0; i < size; i++)
            {
                cluster.Launch(i);
            }

            await cluster.WaitHealthyAsync(Enumerable.Range(0, size), TimeSpan.FromSeconds(30));
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Stops one member with SIGTERM (a clean shutdown: the others see it leave at once).</summary>
    public async Task StopMemberAsync(int member)
    {
        if (_members[member] is { } daemon)
        {
            _members[member] = null;
            await daemon.TerminateAsync(TimeSpan.FromSeconds(10));
            await daemon.DisposeAsync();
        }
    }

    /// <summary>Starts a stopped member again on its data directory and waits until it is healthy.</summary>
    public async Task StartMemberAsync(int member)
    {
        Launch(member);
        await WaitHealthyAsync([member], TimeSpan.FromSeconds(30));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var daemon in _members.OfType<ChildDaemon>())
        {
            await daemon.DisposeAsync();
        }

        Array.Clear(_members);
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // a member still closing its files; the temporary root goes with the machine
        }
    }

    private void Launch(int member)
    {
        _members[member] = ChildDaemon.Start([Executable],
        [
            "--name", Name(member),
            "--data-dir", Path.Combine(_root, Name(member)),
            "--listen-client-urls", ClientUrl(member),
            "--advertise-client-urls", ClientUrl(member),
            "--listen-peer-urls", PeerUrl(member),
            "--initial-advertise-peer-urls", PeerUrl(member),
            "--initial-cluster", _initialCluster,
            "--initial-cluster-state", "new",
            "--initial-cluster-token", _token,
            "--logger", "zap",
            "--log-level", "warn",
        ], []);
    }

    private async Task WaitHealthyAsync(IEnumerable<int> members, TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + timeout;
        foreach (var member in members)
        {
            while (true)
            {
                try
                {
                    var health = await http.GetStringAsync(new Uri(ClientUrl(member) + "/health"));
                    if (health.Contains("\"health\":\"true\"", StringComparison.Ordinal))
                    {
                        break;
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    // not listening yet, or no leader yet
                }

                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException($"etcd member {Name(member)} not healthy within {timeout.TotalSeconds:F0} s:\n{_members[member]?.Output}");
                }

                await Task.Delay(100);
            }
        }
    }

    private static string Name(int member) => "m" + member.ToString(CultureInfo.InvariantCulture);

    private string PeerUrl(int member) => $"http://127.0.0.1:{_basePort + _members.Length + member}";
}
