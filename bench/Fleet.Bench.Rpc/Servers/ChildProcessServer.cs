using System.Diagnostics;
using System.Globalization;

namespace Fleet.Bench.Rpc.Servers;

/// <summary>
/// A server in a child process that prints `LISTENING port` on stdout when ready and stops when its
/// stdin closes (python echo_server.py and `Fleet.Bench.Rpc serve`). Killed if it does not stop in time,
/// and when the benchmark process exits by any path.
/// </summary>
internal sealed class ChildProcessServer : IBenchServer
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(3);

    private readonly StderrTail _stderr;
    private readonly Action _cleanup;
    private readonly bool _answersJit;
    private readonly SemaphoreSlim _query = new(1, 1);

    private ChildProcessServer(string name, string description, Process process, int port, StderrTail stderr, Action cleanup, bool answersJit)
    {
        _answersJit = answersJit;
        Name = name;
        Description = description;
        Process = process;
        Address = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}");
        _stderr = stderr;
        _cleanup = cleanup;
    }

    public string Name { get; }

    public string Description { get; }

    public Uri Address { get; }

    public Process Process { get; }

    Process? IBenchServer.Process => Process;

    /// <summary>
    /// Starts <paramref name="startInfo"/> and waits for its LISTENING line. <paramref name="answersJit"/>: the
    /// child answers `jit` lines on stdin (Fleet's `serve`); otherwise its stdout is drained and ignored.
    /// </summary>
    public static async Task<ChildProcessServer> StartAsync(
        string name, string description, ProcessStartInfo startInfo, bool answersJit, Action? cleanup, CancellationToken cancellationToken)
    {
        startInfo.UseShellExecute = false;
        startInfo.RedirectStandardInput = true;
        startInfo.RedirectStandardOutput = true;
        startInfo.RedirectStandardError = true;
        var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"Could not start {startInfo.FileName}.");
        void Kill()
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
        }

        AppDomain.CurrentDomain.ProcessExit += (_, _) => Kill();
        var stderr = new StderrTail();
        process.ErrorDataReceived += (_, e) => stderr.Add(e.Data);
        process.BeginErrorReadLine();
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(StartTimeout);
            var port = await ReadPortAsync(process, timeout.Token);
            if (port is null)
            {
                await process.WaitForExitAsync(CancellationToken.None).WaitAsync(StopTimeout, CancellationToken.None);
                throw new InvalidOperationException(
                    $"{name} server exited (code {process.ExitCode}) before printing LISTENING. stderr:{Environment.NewLine}{stderr}");
            }

            if (!answersJit)
            {
                // Nothing else is expected on stdout; keep draining it so the child never blocks on a full pipe.
                _ = process.StandardOutput.BaseStream.CopyToAsync(Stream.Null, CancellationToken.None);
            }

            return new ChildProcessServer(name, description, process, port.Value, stderr, cleanup ?? (() => { }), answersJit);
        }
        catch (Exception ex) when (ex is OperationCanceledException or TimeoutException or InvalidOperationException)
        {
            Kill();
            cleanup?.Invoke();
            if (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                throw new InvalidOperationException($"{name} server did not print LISTENING within {StartTimeout.TotalSeconds:0} s. stderr:{Environment.NewLine}{stderr}", ex);
            }

            throw;
        }
    }

    public async Task<TimeSpan?> GetJitTimeAsync()
    {
        if (!_answersJit)
        {
            return null;
        }

        await _query.WaitAsync();
        try
        {
            await Process.StandardInput.WriteLineAsync(ServeCommand.JitQuery);
            await Process.StandardInput.FlushAsync();
            var line = await Process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10));
            return line is not null && line.StartsWith(ServeCommand.JitReplyPrefix, StringComparison.Ordinal)
                && long.TryParse(line.AsSpan(ServeCommand.JitReplyPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
                ? TimeSpan.FromTicks(ticks)
                : throw new InvalidOperationException($"{Name} server answered '{line}' to '{ServeCommand.JitQuery}'.");
        }
        finally
        {
            _query.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            Process.StandardInput.Close();
            await Process.WaitForExitAsync().WaitAsync(StopTimeout);
        }
        catch (Exception ex) when (ex is TimeoutException or IOException or InvalidOperationException)
        {
            try
            {
                Process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
            }
        }

        if (_stderr.HasLines)
        {
            await Console.Error.WriteLineAsync($"{Name} server stderr:{Environment.NewLine}{_stderr}");
        }

        Process.Dispose();
        _query.Dispose();
        _cleanup();
    }

    private static async Task<int?> ReadPortAsync(Process process, CancellationToken cancellationToken)
    {
        // Bounded: the child prints one line when ready; anything else before it is skipped (at most 1000 lines).
        for (var i = 0; i < 1000; i++)
        {
            var line = await process.StandardOutput.ReadLineAsync(cancellationToken);
            if (line is null)
            {
                return null;
            }

            const string Prefix = "LISTENING ";
            if (line.StartsWith(Prefix, StringComparison.Ordinal)
                && int.TryParse(line.AsSpan(Prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var port))
            {
                return port;
            }
        }

        throw new InvalidOperationException("Child server wrote 1000 lines without a LISTENING line.");
    }

    /// <summary>The last lines a child wrote to stderr, for error messages.</summary>
    private sealed class StderrTail
    {
        private const int MaxLines = 40;
        private readonly Queue<string> _lines = new();
        private bool _hasLines;

        public bool HasLines
        {
            get
            {
                lock (_lines)
                {
                    return _hasLines;
                }
            }
        }

        public void Add(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (_lines)
            {
                _hasLines = true;
                _lines.Enqueue(line);
                if (_lines.Count > MaxLines)
                {
                    _lines.Dequeue();
                }
            }
        }

        public override string ToString()
        {
            lock (_lines)
            {
                return string.Join(Environment.NewLine, _lines);
            }
        }
    }
}
