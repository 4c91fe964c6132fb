using System.Diagnostics;
using System.Text.Json;
using Fleet.Bench.Aggregator.Measurement;

namespace Fleet.Bench.Aggregator.Target;

/// <summary>
/// fleet-aggregator as a child process (`dotnet fleet-aggregator.dll --config FILE`), so its CPU and
/// memory are measured apart from the load generator's. Its output goes to a log file.
/// </summary>
internal sealed class ChildAggregator(AggregatorSettings settings, string dllPath, string tempDirectory) : AggregatorTarget(settings)
{
    private readonly string _logPath = Path.Combine(tempDirectory, "fleet-aggregator.log");
    private Process? _process;
    private StreamWriter? _log;
    private long _logLines;

    public string DllPath => dllPath;

    public string LogPath => _logPath;

    public long LogLines => Interlocked.Read(ref _logLines);

    public override string Description => $"child process (pid {Pid}): dotnet {dllPath}";

    public override bool Isolated => true;

    public override int Pid => _process?.Id ?? 0;

    public override string GcMode
    {
        get
        {
            var config = Path.ChangeExtension(dllPath, ".runtimeconfig.json");
            if (Environment.GetEnvironmentVariable("DOTNET_gcServer") is { } overridden)
            {
                return overridden == "1" ? "server (DOTNET_gcServer=1)" : "workstation (DOTNET_gcServer=0)";
            }

            try
            {
                using var document = JsonDocument.Parse(File.ReadAllText(config));
                var server = document.RootElement.GetProperty("runtimeOptions").TryGetProperty("configProperties", out var properties)
                    && properties.TryGetProperty("System.GC.Server", out var value) && value.GetBoolean();
                return server ? "server (runtimeconfig)" : "workstation (runtimeconfig)";
            }
            catch (Exception ex) when (ex is IOException or JsonException or KeyNotFoundException)
            {
                return "unknown";
            }
        }
    }

    public override bool IsRunning => _process is { HasExited: false };

    /// <summary>The exit code once the process has ended (kept after dispose).</summary>
    public int? ExitCode { get; private set; }

    public override CpuTime ReadCpu() => ProcStats.ProcessCpu(Pid) ?? default;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        var configPath = Path.Combine(tempDirectory, "fleet-aggregator.json");
        Settings.WriteJson(configPath);
        _log = new StreamWriter(_logPath) { AutoFlush = false };
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = tempDirectory,
        };
        start.ArgumentList.Add(dllPath);
        start.ArgumentList.Add("--config");
        start.ArgumentList.Add(configPath);
        _process = new Process { StartInfo = start, EnableRaisingEvents = true };
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        if (!_process.Start())
        {
            throw new InvalidOperationException("could not start dotnet");
        }

        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        // If the benchmark is stopped (SIGTERM, Ctrl-C twice), do not leave the aggregator running.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillIfRunning();
        await WaitReadyAsync(
            () => _process.HasExited ? $"fleet-aggregator exited with code {_process.ExitCode} before it was ready; its log ({_logPath}):\n{Tail()}" : null,
            cancellationToken);
    }

    public override async ValueTask DisposeAsync()
    {
        if (_process is { } process)
        {
            if (!process.HasExited)
            {
                await SigTermAsync(process.Id); // graceful: the host stops and flushes its store
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
                try
                {
                    await process.WaitForExitAsync(timeout.Token);
                }
                catch (OperationCanceledException)
                {
                    process.Kill(entireProcessTree: true);
                    await process.WaitForExitAsync(CancellationToken.None);
                }
            }
            else
            {
                await process.WaitForExitAsync(CancellationToken.None);
            }

            ExitCode = process.ExitCode;
            process.Dispose();
            _process = null;
        }

        lock (_logPath)
        {
            _log?.Dispose();
            _log = null;
        }
    }

    private void KillIfRunning()
    {
        try
        {
            if (_process is { HasExited: false } process)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
        }
    }

    /// <summary>The last lines of the aggregator's log.</summary>
    public string Tail(int lines = 20)
    {
        lock (_logPath)
        {
            _log?.Flush();
        }

        return File.Exists(_logPath) ? string.Join('\n', File.ReadLines(_logPath).TakeLast(lines)) : string.Empty;
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        Interlocked.Increment(ref _logLines);
        lock (_logPath)
        {
            _log?.WriteLine(line);
        }
    }

    private static async Task SigTermAsync(int pid)
    {
        using var kill = Process.Start("kill", ["-TERM", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync(CancellationToken.None);
    }
}
