using System.Collections.Concurrent;
using System.Diagnostics;

namespace Fleet.Bench.Agent.Processes;

/// <summary>
/// A long-running child process (fleet-agent, postgres_exporter) whose output is kept (last lines) for
/// error messages. Every child is registered (see <see cref="KillAll"/>) so the bench kills it on any exit path:
/// normal end, exception, Ctrl-C or SIGTERM.
/// </summary>
internal sealed class BenchChild : IDisposable
{
    private const int KeptLines = 80;
    private static readonly ConcurrentDictionary<int, BenchChild> Live = new();
    private readonly Process _process;
    private readonly Queue<string> _tail = new();
    private readonly Lock _tailGate = new();

    private BenchChild(string label, Process process)
    {
        Label = label;
        _process = process;
        Pid = process.Id;
    }

    public string Label { get; }

    public int Pid { get; }

    public bool HasExited
    {
        get
        {
            try
            {
                return _process.HasExited;
            }
            catch (InvalidOperationException)
            {
                return true;
            }
        }
    }

    /// <summary>Starts <paramref name="fileName"/> with its output captured; libpq's PG* variables are removed from its environment.</summary>
    public static BenchChild Start(string label, string fileName, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        foreach (var name in startInfo.Environment.Keys.Where(IsInheritedSetting).ToList())
        {
            startInfo.Environment.Remove(name);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            startInfo.Environment[name] = value;
        }

        var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"could not start {fileName}");
        var child = new BenchChild(label, process);
        Live[child.Pid] = child;
        process.OutputDataReceived += (_, e) => child.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => child.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.StandardInput.Close();
        return child;
    }

    /// <summary>The last lines the child printed (stdout and stderr interleaved).</summary>
    public string OutputTail()
    {
        lock (_tailGate)
        {
            return string.Join(Environment.NewLine, _tail);
        }
    }

    /// <summary>SIGTERM, then SIGKILL (whole tree) after <paramref name="grace"/>; waits for the exit.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (!HasExited)
        {
            try
            {
                Posix.Terminate(Pid);
                using var timeout = new CancellationTokenSource(grace);
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                Kill();
            }
        }

        Dispose();
    }

    public void Dispose()
    {
        Kill();
        Live.TryRemove(Pid, out _);
        _process.Dispose();
    }

    /// <summary>Kills every child still running: the bench's last word on any exit path.</summary>
    public static void KillAll()
    {
        foreach (var child in Live.Values)
        {
            child.Kill();
        }
    }

    private void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // Already gone.
        }
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_tailGate)
        {
            _tail.Enqueue(line);
            while (_tail.Count > KeptLines)
            {
                _tail.Dequeue();
            }
        }
    }

    /// <summary>A developer's PGHOST, PGPORT, DOTNET_gcServer and the like must not change what is measured.</summary>
    private static bool IsInheritedSetting(string name) =>
        name.StartsWith("PG", StringComparison.Ordinal) ||
        name.StartsWith("DOTNET_", StringComparison.OrdinalIgnoreCase) ||
        name.StartsWith("COMPlus_", StringComparison.OrdinalIgnoreCase) ||
        name.StartsWith("FLEET_", StringComparison.Ordinal) ||
        name == "DATA_SOURCE_NAME";
}
