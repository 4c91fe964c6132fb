using System.Diagnostics;
using System.Globalization;
using System.Text;
using Xunit;

namespace Fleet.Testing;

/// <summary>
/// A daemon run as a child process (`dotnet X.dll` from the test's output directory, or any executable), its
/// stdout and stderr collected, stopped with SIGTERM as systemd or the kubelet stops it. FLEET_* variables of
/// the test run do not leak into it.
/// </summary>
public sealed class ChildDaemon : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly List<(string Text, TaskCompletionSource Seen)> _waits = [];

    private ChildDaemon(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, line) => Append(line.Data);
        process.ErrorDataReceived += (_, line) => Append(line.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public int ExitCode => _process.ExitCode;

    public bool HasExited => _process.HasExited;

    /// <summary>Starts <c>dotnet <paramref name="dll"/></c> from the test's output directory.</summary>
    public static ChildDaemon Start(string dll, string[] arguments, Dictionary<string, string> environment) =>
        Start([DotnetHost.Path, Path.Combine(AppContext.BaseDirectory, dll)], arguments, environment);

    /// <summary>Starts <paramref name="command"/> (program and leading arguments) with <paramref name="arguments"/> after it.</summary>
    public static ChildDaemon Start(IReadOnlyList<string> command, string[] arguments, Dictionary<string, string> environment)
    {
        var info = new ProcessStartInfo(command[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        foreach (var argument in command.Skip(1).Concat(arguments))
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("FLEET_", StringComparison.Ordinal)).ToList())
        {
            info.Environment.Remove(name);
        }

        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        return new ChildDaemon(Process.Start(info) ?? throw new InvalidOperationException($"{command[0]} did not start"));
    }

    public async Task WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_output)
        {
            if (_output.ToString().Contains(text, StringComparison.Ordinal))
            {
                return;
            }

            _waits.Add((text, seen));
        }

        var exited = _process.WaitForExitAsync();
        var first = await Task.WhenAny(seen.Task, exited).WaitAsync(timeout);
        Assert.True(first == seen.Task, $"the process exited before printing '{text}' (exited: {_process.HasExited}):\n{Output}");
    }

    /// <summary>Sends SIGTERM and waits (at most twice <paramref name="budget"/>) for the exit; returns how long it took.</summary>
    public async Task<TimeSpan> TerminateAsync(TimeSpan budget)
    {
        var clock = Stopwatch.StartNew();
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        await _process.WaitForExitAsync().WaitAsync(budget * 2);
        return clock.Elapsed;
    }

    /// <summary>SIGKILL, as a crash or the OOM killer ends it: no shutdown code runs. Waits for the exit.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
            foreach (var (text, seen) in _waits.Where(w => line.Contains(w.Text, StringComparison.Ordinal)))
            {
                seen.TrySetResult();
            }
        }
    }
}
