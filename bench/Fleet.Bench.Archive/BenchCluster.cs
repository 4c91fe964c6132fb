using System.Diagnostics;
using System.Globalization;

namespace Fleet.Bench.Archive;

/// <summary>
/// A throwaway PostgreSQL primary initialised with <c>initdb --wal-segsize=1</c> (1 MiB WAL segments) that
/// archives into its own directory, so 1,000 real segments take 1 GB instead of 16 GB. Runs the server
/// binaries as the postgres OS user when started as root.
/// </summary>
internal sealed class BenchCluster : IAsyncDisposable
{
    private readonly string _bin;
    private readonly bool _root = Environment.UserName == "root";

    private BenchCluster(string bin, string root, int port)
    {
        _bin = bin;
        Root = root;
        Port = port;
    }

    public string Root { get; }

    public string Data => Path.Combine(Root, "data");

    public string Archive => Path.Combine(Root, "archive");

    public int Port { get; }

    public string BinDirectory => _bin;

    public string ConnectionString => $"Host={Root};Port={Port};Username=postgres;Database=postgres;Pooling=false;Timeout=15;Command Timeout=600";

    public static async Task<BenchCluster> StartAsync(string bin, string parent, int port)
    {
        var root = Path.Combine(parent, "fleet-bench-archive-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Path.Combine(root, "archive"));
        var cluster = new BenchCluster(bin, root, port);
        if (cluster._root)
        {
            await Run("chown", ["-R", "postgres:postgres", root], TimeSpan.FromSeconds(30));
        }

        await cluster.ToolAsync("initdb", ["-D", cluster.Data, "-U", "postgres", "--auth=trust", "--wal-segsize=1", "--no-sync", "--locale=C", "--encoding=UTF8"], TimeSpan.FromMinutes(2));
        var conf = string.Join('\n',
            "listen_addresses = ''",
            $"unix_socket_directories = '{root}'",
            $"port = {port}",
            "fsync = off",
            "synchronous_commit = off",
            "wal_level = replica",
            "archive_mode = on",
            $"archive_command = 'test ! -f {cluster.Archive}/%f && cp %p {cluster.Archive}/%f'",
            "max_wal_size = '4GB'",
            "min_wal_size = '64MB'",
            "checkpoint_timeout = '60s'",
            "shared_buffers = '128MB'",
            "logging_collector = off");
        await File.AppendAllTextAsync(Path.Combine(cluster.Data, "postgresql.conf"), "\n" + conf + "\n");
        await cluster.ToolAsync("pg_ctl", ["-D", cluster.Data, "-l", Path.Combine(root, "server.log"), "-w", "-t", "60", "start"], TimeSpan.FromMinutes(2));
        return cluster;
    }

    /// <summary>Runs a tool of the bin directory as the server's OS user; throws on failure.</summary>
    public Task<(string Stdout, string Stderr)> ToolAsync(string tool, IEnumerable<string> arguments, TimeSpan timeout) =>
        _root
            ? Run("/usr/sbin/runuser", ["-u", "postgres", "--", Path.Combine(_bin, tool), .. arguments], timeout)
            : Run(Path.Combine(_bin, tool), arguments, timeout);

    public static async Task<(string Stdout, string Stderr)> Run(string file, IEnumerable<string> arguments, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = "/" };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Path.GetFileName(file)} {string.Join(' ', start.ArgumentList)} took longer than {timeout}");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(file)} {string.Join(' ', start.ArgumentList)} exited {process.ExitCode.ToString(CultureInfo.InvariantCulture)}: {await stderr}");
        }

        return (await stdout, await stderr);
    }

    public async ValueTask DisposeAsync()
    {
        if (!File.Exists(Path.Combine(Data, "postmaster.pid")))
        {
            return;
        }

        try
        {
            await ToolAsync("pg_ctl", ["-D", Data, "-m", "immediate", "-w", "-t", "30", "stop"], TimeSpan.FromSeconds(60));
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException)
        {
            await Console.Error.WriteLineAsync($"[bench] stopping the cluster: {e.Message}");
        }
    }

    public void Delete()
    {
        if (Directory.Exists(Root))
        {
            Directory.Delete(Root, recursive: true);
        }
    }
}
