using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Fleet.Aggregator.Tests.Dashboard;

/// <summary>
/// Debian's Chromium, headless, with a throw-away profile and the DevTools protocol on a loopback port
/// the browser picks itself. Dispose closes it, kills whatever of it is left (the whole process
/// tree) and deletes the profile.
/// </summary>
internal sealed partial class HeadlessChromium : IAsyncDisposable
{
    /// <summary>
    /// Where Debian's package puts it (scripts/install-deps.sh installs it for the suite); FLEET_CHROMIUM
    /// names another build of Chromium.
    /// </summary>
    public static string ExecutablePath { get; } =
        Environment.GetEnvironmentVariable("FLEET_CHROMIUM") is { Length: > 0 } configured ? configured : "/usr/bin/chromium";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(45);

    private readonly Process _process;
    private readonly DirectoryInfo _profile;
    private readonly Queue<string> _output = new();
    private readonly Lock _outputGate = new();
    private readonly TaskCompletionSource<Uri> _devToolsUrl = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<Action<string, string?, JsonObject>> _eventHandlers = [];
    private DevToolsConnection? _connection;

    private HeadlessChromium(Process process, DirectoryInfo profile)
    {
        _process = process;
        _profile = profile;
    }

    public DevToolsConnection Connection => _connection ?? throw new InvalidOperationException("Chromium is not started.");

    /// <summary>The last lines Chromium wrote to stdout/stderr, for failure messages.</summary>
    public string OutputTail
    {
        get
        {
            lock (_outputGate)
            {
                return string.Join('\n', _output);
            }
        }
    }

    /// <summary>Starts Chromium and connects to its browser target.</summary>
    public static async Task<HeadlessChromium> LaunchAsync(int width, int height, CancellationToken cancellationToken)
    {
        var profile = Directory.CreateTempSubdirectory("fleet-dashboard-chromium-");
        var start = new ProcessStartInfo(ExecutablePath)
        {
            UseShellExecute = false,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
        };
        foreach (var argument in (string[])
        [
            "--headless",
            "--no-sandbox", // The suite runs as root in containers, where Chromium's sandbox cannot start.
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--disable-breakpad",
            "--hide-scrollbars",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            $"--user-data-dir={Path.Combine(profile.FullName, "profile")}",
            $"--window-size={width},{height}",
            "about:blank",
        ])
        {
            start.ArgumentList.Add(argument);
        }

        // Crash reports and caches go to the profile as well, so nothing outlives the test.
        start.Environment["XDG_CONFIG_HOME"] = Path.Combine(profile.FullName, "config");
        start.Environment["XDG_CACHE_HOME"] = Path.Combine(profile.FullName, "cache");

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var chromium = new HeadlessChromium(process, profile);
        process.ErrorDataReceived += (_, e) => chromium.OnOutput(e.Data);
        process.OutputDataReceived += (_, e) => chromium.OnOutput(e.Data);
        process.Exited += (_, _) => chromium._devToolsUrl.TrySetException(
            new InvalidOperationException($"Chromium exited before it opened DevTools. Its output:\n{chromium.OutputTail}"));
        try
        {
            if (!process.Start())
            {
                throw new InvalidOperationException($"{ExecutablePath} did not start.");
            }

            process.BeginErrorReadLine();
            process.BeginOutputReadLine();
            Uri url;
            try
            {
                url = await chromium._devToolsUrl.Task.WaitAsync(StartTimeout, cancellationToken);
            }
            catch (TimeoutException)
            {
                throw new TimeoutException($"Chromium did not print its DevTools URL within {StartTimeout.TotalSeconds:0} s. Its output:\n{chromium.OutputTail}");
            }

            chromium._connection = await DevToolsConnection.ConnectAsync(url, chromium.OnEvent, cancellationToken);
            return chromium;
        }
        catch
        {
            await chromium.DisposeAsync();
            throw;
        }
    }

    /// <summary>Registers a handler for every DevTools event: (method, sessionId, params), on the receive thread.</summary>
    public void OnEvent(Action<string, string?, JsonObject> handler)
    {
        lock (_eventHandlers)
        {
            _eventHandlers.Add(handler);
        }
    }

    /// <summary>Opens a new tab on about:blank and attaches to it; commands for it go through the returned session.</summary>
    public async Task<string> NewPageSessionAsync(CancellationToken cancellationToken)
    {
        var target = await Connection.SendAsync("Target.createTarget", new JsonObject { ["url"] = "about:blank" }, cancellationToken: cancellationToken);
        var attached = await Connection.SendAsync(
            "Target.attachToTarget",
            new JsonObject { ["targetId"] = target["targetId"]!.GetValue<string>(), ["flatten"] = true },
            cancellationToken: cancellationToken);
        return attached["sessionId"]!.GetValue<string>();
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null)
        {
            try
            {
                // Ask nicely first: Chromium then stops its helpers itself.
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
                await _connection.SendAsync("Browser.close", cancellationToken: timeout.Token);
            }
            catch (Exception ex) when (ex is DevToolsException or TimeoutException or OperationCanceledException or System.Net.WebSockets.WebSocketException)
            {
                // Killed below.
            }

            await _connection.DisposeAsync();
            _connection = null;
        }

        try
        {
            if (!_process.HasExited && !_process.WaitForExit(TimeSpan.FromSeconds(5)))
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(TimeSpan.FromSeconds(10));
            }
        }
        catch (InvalidOperationException)
        {
            // Never started.
        }

        KillLeftovers();
        _process.Dispose();
        DeleteProfile();
    }

    /// <summary>
    /// Helpers that outlived the browser: anything whose command line names this run's profile. Only
    /// processes this test started can name it (it is a fresh temporary directory).
    /// </summary>
    private void KillLeftovers()
    {
        var marker = _profile.FullName;
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }

            try
            {
                var commandLine = File.ReadAllText(Path.Combine(directory, "cmdline"));
                if (commandLine.Contains(marker, StringComparison.Ordinal))
                {
                    using var leftover = Process.GetProcessById(pid);
                    leftover.Kill();
                    leftover.WaitForExit(TimeSpan.FromSeconds(5));
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // Gone meanwhile, or not ours to read.
            }
        }
    }

    private void DeleteProfile()
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            try
            {
                _profile.Delete(recursive: true);
                return;
            }
            catch (DirectoryNotFoundException)
            {
                return;
            }
            catch (IOException)
            {
                // A helper may still be writing into it as it exits.
                Thread.Sleep(200);
            }
        }
    }

    private void OnOutput(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_outputGate)
        {
            _output.Enqueue(line);
            while (_output.Count > 200)
            {
                _output.Dequeue();
            }
        }

        if (DevToolsListening().Match(line) is { Success: true } match)
        {
            _devToolsUrl.TrySetResult(new Uri(match.Groups[1].Value));
        }
    }

    private void OnEvent(string method, string? sessionId, JsonObject parameters)
    {
        Action<string, string?, JsonObject>[] handlers;
        lock (_eventHandlers)
        {
            handlers = [.. _eventHandlers];
        }

        foreach (var handler in handlers)
        {
            handler(method, sessionId, parameters);
        }
    }

    [GeneratedRegex(@"DevTools listening on (ws://127\.0\.0\.1:\d+/\S+)")]
    private static partial Regex DevToolsListening();
}
