using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;

namespace Fleet.Aggregator.Tests.Dashboard;

/// <summary>
/// One tab of <see cref="HeadlessChromium"/>: navigation, script evaluation, screenshots, and a record
/// of everything that went wrong in the page (console errors and warnings, uncaught exceptions,
/// failed loads) and of every top-level navigation, so a test can tell a live update from a reload.
/// </summary>
internal sealed class BrowserPage
{
    private readonly HeadlessChromium _browser;
    private readonly string _session;
    private readonly ConcurrentQueue<string> _problems = new();
    private readonly ConcurrentQueue<string> _notes = new();
    private int _mainFrameNavigations;

    private BrowserPage(HeadlessChromium browser, string session)
    {
        _browser = browser;
        _session = session;
    }

    /// <summary>console.error/warn/assert calls, uncaught exceptions and error log entries, in order.</summary>
    public IReadOnlyList<string> Problems => [.. _problems];

    /// <summary>Other console and log output, for the test log.</summary>
    public IReadOnlyList<string> Notes => [.. _notes];

    /// <summary>Top-level navigations so far (a reload counts as one).</summary>
    public int MainFrameNavigations => Volatile.Read(ref _mainFrameNavigations);

    public static async Task<BrowserPage> OpenAsync(HeadlessChromium browser, CancellationToken cancellationToken)
    {
        var session = await browser.NewPageSessionAsync(cancellationToken);
        var page = new BrowserPage(browser, session);
        browser.OnEvent(page.OnEvent);
        await page.SendAsync("Page.enable", null, cancellationToken);
        await page.SendAsync("Runtime.enable", null, cancellationToken);
        await page.SendAsync("Log.enable", null, cancellationToken);
        return page;
    }

    public Task<JsonObject> SendAsync(string method, JsonObject? parameters, CancellationToken cancellationToken) =>
        _browser.Connection.SendAsync(method, parameters, _session, cancellationToken);

    /// <summary>Runs <paramref name="source"/> in every document this tab loads, before the page's own scripts.</summary>
    public Task AddInitScriptAsync(string source, CancellationToken cancellationToken) =>
        SendAsync("Page.addScriptToEvaluateOnNewDocument", new JsonObject { ["source"] = source }, cancellationToken);

    public async Task NavigateAsync(Uri url, CancellationToken cancellationToken)
    {
        var result = await SendAsync("Page.navigate", new JsonObject { ["url"] = url.ToString() }, cancellationToken);
        if (result["errorText"]?.GetValue<string>() is { Length: > 0 } error)
        {
            throw new InvalidOperationException($"Chromium could not load {url}: {error}");
        }
    }

    /// <summary>Evaluates an expression in the page and returns its value as JSON (null for undefined).</summary>
    public async Task<JsonNode?> EvaluateAsync(string expression, CancellationToken cancellationToken)
    {
        var result = await SendAsync(
            "Runtime.evaluate",
            new JsonObject { ["expression"] = expression, ["returnByValue"] = true, ["awaitPromise"] = true },
            cancellationToken);
        if (result["exceptionDetails"] is JsonObject exception)
        {
            throw new InvalidOperationException($"Evaluating a test expression failed: {Describe(exception)}");
        }

        return result["result"]?["value"]?.DeepClone();
    }

    /// <summary>A PNG of the whole page (not only the window), written to <paramref name="path"/>.</summary>
    public async Task ScreenshotAsync(string path, CancellationToken cancellationToken)
    {
        var metrics = await SendAsync("Page.getLayoutMetrics", null, cancellationToken);
        var size = metrics["cssContentSize"]!;
        var shot = await SendAsync(
            "Page.captureScreenshot",
            new JsonObject
            {
                ["format"] = "png",
                ["captureBeyondViewport"] = true,
                ["clip"] = new JsonObject
                {
                    ["x"] = 0,
                    ["y"] = 0,
                    ["width"] = size["width"]!.GetValue<double>(),
                    ["height"] = size["height"]!.GetValue<double>(),
                    ["scale"] = 1,
                },
            },
            cancellationToken);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllBytesAsync(path, Convert.FromBase64String(shot["data"]!.GetValue<string>()), cancellationToken);
    }

    private void OnEvent(string method, string? sessionId, JsonObject parameters)
    {
        if (sessionId != _session)
        {
            return;
        }

        switch (method)
        {
            case "Runtime.consoleAPICalled":
                var type = parameters["type"]?.GetValue<string>() ?? "?";
                var text = string.Join(' ', (parameters["args"] as JsonArray ?? []).Select(a => a?["value"]?.ToString() ?? a?["description"]?.ToString() ?? "?"));
                (type is "error" or "warning" or "assert" ? _problems : _notes).Enqueue($"console.{type}: {text}");
                break;
            case "Runtime.exceptionThrown":
                _problems.Enqueue("uncaught exception: " + Describe(parameters["exceptionDetails"] as JsonObject ?? []));
                break;
            case "Log.entryAdded":
                var entry = parameters["entry"] as JsonObject ?? [];
                var level = entry["level"]?.GetValue<string>() ?? "?";
                var line = $"log.{level} ({entry["source"]}): {entry["text"]} {entry["url"]}".TrimEnd();
                (level is "error" or "warning" ? _problems : _notes).Enqueue(line);
                break;
            case "Page.frameNavigated" when (parameters["frame"]?["parentId"]) is null:
                Interlocked.Increment(ref _mainFrameNavigations);
                _notes.Enqueue("navigated to " + parameters["frame"]?["url"]);
                break;
            default:
                break;
        }
    }

    private static string Describe(JsonObject exception)
    {
        var description = exception["exception"]?["description"]?.ToString() ?? exception["text"]?.ToString() ?? "?";
        return string.Create(CultureInfo.InvariantCulture, $"{description} (line {exception["lineNumber"]}, column {exception["columnNumber"]}, {exception["url"]})");
    }
}
