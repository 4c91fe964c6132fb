using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Fleet.LocalFleet;
using Fleet.LocalFleet.Postgres;
using Xunit.Abstractions;
using Xunit.Sdk;
using LocalFleetHost = Fleet.LocalFleet.LocalFleet;

namespace Fleet.Aggregator.Tests.Dashboard;

/// <summary>
/// The dashboard at "/" in a real browser (Debian's headless Chromium, driven over the DevTools
/// protocol) against a real local fleet: PostgreSQL primary + 2 replicas, one agent each, the
/// aggregator. Checks what the page shows, that it follows the fleet live without a reload (a
/// replica's PostgreSQL stops and comes back), that its scripts log no error, and saves screenshots.
/// </summary>
public sealed partial class DashboardBrowserTests(ITestOutputHelper output)
{
    private const string Region = "test-region";
    private const string Cluster = "orders";
    private const int Replicas = 2;

    private static readonly TimeSpan TestBudget = TimeSpan.FromMinutes(4);
    private static readonly TimeSpan FleetReadyTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan PageTimeout = TimeSpan.FromSeconds(45);

    private static readonly string[] NodeColumns = ["Node", "Role", "Agent", "Postgres", "Health", "Upstream", "Lag", "Lag (s)", "Timeline", "Last report"];
    private static readonly string[] AlertColumns = ["State", "Severity", "Rule", "Cluster", "Node", "Message", "Since"];
    private static readonly string[] EventColumns = ["Time", "Kind", "Cluster", "Node", "Message"];

    private static readonly JsonSerializerOptions PageJson = new(JsonSerializerDefaults.Web);

    /// <summary>
    /// Runs before the page's own script: counts what the server-sent-events stream delivers, so the
    /// test can tell the live feed works (the page also re-polls every 5 s).
    /// </summary>
    private const string CountServerSentEvents = """
        (() => {
          const counters = { opened: 0, messages: 0, errors: 0 };
          window.__fleetSse = counters;
          const Original = window.EventSource;
          window.EventSource = class extends Original {
            constructor(...args) {
              super(...args);
              this.addEventListener("open", () => counters.opened++);
              this.addEventListener("message", () => counters.messages++);
              this.addEventListener("error", () => counters.errors++);
            }
          };
        })();
        """;

    /// <summary>Everything the test looks at, read from the DOM in one go.</summary>
    private const string ReadPage = """
        (() => {
          // Right after Page.navigate the new document may not have a body yet.
          if (document.readyState === "loading" || !document.body || !document.getElementById("clusters")) return null;
          const text = e => e ? e.textContent.trim() : null;
          const cells = tr => Array.from(tr.cells).map(c => c.textContent.trim());
          const sectionOf = id => document.getElementById(id)?.closest("section");
          return JSON.stringify({
            text: document.body.innerText,
            title: document.title,
            region: text(document.getElementById("region")),
            live: text(document.getElementById("live")),
            clusters: Array.from(document.querySelectorAll("#clusters section[data-cluster]")).map(s => {
              const table = s.querySelector("table");
              return {
                name: s.dataset.cluster,
                title: text(s.querySelector(".cluster-title")),
                health: text(s.querySelector(".cluster-title .pill")),
                header: table && table.rows.length ? cells(table.rows[0]) : [],
                headerTags: table && table.rows.length ? Array.from(table.rows[0].cells).map(c => c.tagName) : [],
                nodes: Array.from(s.querySelectorAll("tr[data-node]")).map(tr => ({ name: tr.dataset.node, rowClass: tr.className, cells: cells(tr) })),
              };
            }),
            alertsHeading: text(sectionOf("alerts")?.querySelector("h2")),
            alertsHeader: Array.from(document.querySelectorAll("#alerts thead th")).map(c => c.textContent.trim()),
            alerts: Array.from(document.querySelectorAll("#alerts tbody tr")).map(cells),
            eventsHeading: text(sectionOf("events")?.querySelector("h2")),
            eventsHeader: Array.from(document.querySelectorAll("#events thead th")).map(c => c.textContent.trim()),
            events: Array.from(document.querySelectorAll("#events tbody tr")).map(cells),
            marker: window.__fleetDashboardTest ?? null,
            sse: window.__fleetSse ?? null,
          });
        })()
        """;

    [Fact]
    public async Task Dashboard_InHeadlessChromium_ShowsTheFleetAndFollowsItLiveWithoutReloading()
    {
        if (!File.Exists(HeadlessChromium.ExecutablePath))
        {
            Assert.Fail($"{HeadlessChromium.ExecutablePath} is missing: the dashboard test needs Debian's Chromium. " +
                "Install it with scripts/install-deps.sh or `apt-get install -y chromium` (or point FLEET_CHROMIUM at a Chromium).");
        }

        var elapsed = Stopwatch.StartNew();
        using var budget = new CancellationTokenSource(TestBudget);
        var ct = budget.Token;

        await using var fleet = await StartFleetAsync(ct);
        Log($"fleet up after {elapsed.Elapsed.TotalSeconds:0.0} s: dashboard {fleet.AggregatorHttp}");
        await WaitForFleetInApiAsync(fleet, ct);
        Log($"every node reported after {elapsed.Elapsed.TotalSeconds:0.0} s");

        await using var browser = await HeadlessChromium.LaunchAsync(1400, 900, ct);
        var page = await BrowserPage.OpenAsync(browser, ct);
        try
        {
            await page.AddInitScriptAsync(CountServerSentEvents, ct);
            await page.NavigateAsync(fleet.AggregatorHttp, ct);

            // 1. The fleet at a glance. The page renders what the API says once it has fetched it;
            //    until every check holds (or the time is up, reporting the last failed check) it waits.
            var initial = await WaitForPageAsync(page, AssertFleetAtAGlance, "the fleet at a glance", ct);
            var navigationsAfterLoad = page.MainFrameNavigations;
            await page.EvaluateAsync("window.__fleetDashboardTest = 'loaded once'", ct);
            await SaveScreenshotAsync(page, "dashboard-initial.png", ct);

            // 2. Live: agents report every second and the rows follow (the Last report column moves on).
            var firstReport = Cell(initial, "node0", "Last report");
            await WaitForPageAsync(page, p => Cell(p, "node0", "Last report") != firstReport, "node0's last report time moving on", ct);

            // 3. Live: a replica's PostgreSQL stops; the page shows it down, then the alert firing.
            var replica = fleet.Postgres.Replicas[^1];
            Log($"stopping PostgreSQL of {replica.Name} after {elapsed.Elapsed.TotalSeconds:0.0} s");
            await replica.StopAsync(cancellationToken: ct);
            var down = await WaitForPageAsync(
                page,
                p => Cell(p, replica.Name, "Postgres") == "DOWN"
                    && AlertStates(p, "postgres_down", replica.Name).Contains("FIRING")
                    && Cell(p, replica.Name, "Health") == "CRITICAL"
                    && p.Events.Any(e => e[1] == "ALERT" && e[3] == replica.Name && e[4].StartsWith("postgres_down firing", StringComparison.Ordinal)),
                $"{replica.Name} with PostgreSQL DOWN, health CRITICAL, the postgres_down alert firing and its event",
                ct);
            var alertRow = down.Alerts.First(a => a.Count == AlertColumns.Length && a[0] == "FIRING" && a[2] == "postgres_down" && a[4] == replica.Name);
            Assert.Equal((string[])["FIRING", "CRITICAL", "postgres_down", Cluster, replica.Name], alertRow.Take(5));
            Assert.Matches(TimeOfDay(), alertRow[6]);
            Assert.Equal("CRITICAL", down.Clusters[0].Health);
            Assert.Equal("CONNECTED", Cell(down, replica.Name, "Agent"));
            Assert.Equal("UP", Cell(down, "node0", "Postgres"));
            await SaveScreenshotAsync(page, "dashboard-postgres-down.png", ct);

            // 4. Live: it comes back; the page shows it up again and the alert resolved.
            Log($"starting PostgreSQL of {replica.Name} again after {elapsed.Elapsed.TotalSeconds:0.0} s");
            await replica.StartAsync(ct);
            var recovered = await WaitForPageAsync(
                page,
                p => Cell(p, replica.Name, "Postgres") == "UP"
                    && !AlertStates(p, "postgres_down", replica.Name).Any(s => s is "FIRING" or "PENDING")
                    && p.Events.Any(e => e[1] == "ALERT" && e[3] == replica.Name && e[4].StartsWith("postgres_down resolved", StringComparison.Ordinal)),
                $"{replica.Name} with PostgreSQL UP again and the postgres_down alert resolved",
                ct);
            Assert.Equal("REPLICA", Cell(recovered, replica.Name, "Role"));

            // All of it without a reload: the marker set after the first load survived, no navigation
            // happened, and the server-sent-events stream delivered the changes.
            Assert.Equal("loaded once", recovered.Marker);
            Assert.Equal(navigationsAfterLoad, page.MainFrameNavigations);
            Assert.NotNull(recovered.Sse);
            Assert.True(recovered.Sse.Opened >= 1, "the page never opened /api/v1/watch");
            Assert.True(recovered.Sse.Messages > initial.Sse!.Messages, "no server-sent event reached the page while the fleet changed");
            Assert.Equal("live", recovered.Live);
            await SaveScreenshotAsync(page, "dashboard.png", ct);

            // No script error, warning or failed request. The one exception: the aggregator serves no
            // /favicon.ico, and Chromium logs the 404 of its own favicon request (not the page's doing).
            var problems = page.Problems.Where(p => !p.Contains("/favicon.ico", StringComparison.Ordinal)).ToList();
            Assert.True(problems.Count == 0, "The page logged problems:\n" + string.Join('\n', problems));
            Log($"done after {elapsed.Elapsed.TotalSeconds:0.0} s; server-sent events received: {recovered.Sse.Messages}");
        }
        finally
        {
            foreach (var note in page.Notes.Concat(page.Problems))
            {
                Log("page: " + note);
            }
        }
    }

    private static bool AssertFleetAtAGlance(PageState page)
    {
        Assert.Contains("Fleet", page.Title, StringComparison.Ordinal);
        Assert.Equal($"region {Region}", page.Region);
        Assert.Equal("live", page.Live);

        var cluster = Assert.Single(page.Clusters);
        Assert.Equal(Cluster, cluster.Name);
        Assert.StartsWith(Cluster, cluster.Title, StringComparison.Ordinal);
        Assert.Contains("primary: node0", cluster.Title, StringComparison.Ordinal);
        Assert.Equal("OK", cluster.Health);
        Assert.Equal(NodeColumns, cluster.Header);
        Assert.All(cluster.HeaderTags, tag => Assert.Equal("TH", tag));

        Assert.Equal((string[])["node0", "node1", "node2"], cluster.Nodes.Select(n => n.Name));
        foreach (var node in cluster.Nodes)
        {
            Assert.Equal(node.Name, Cell(page, node.Name, "Node"));
            var primary = node.Name == "node0";
            Assert.Equal(primary ? "PRIMARY" : "REPLICA", Cell(page, node.Name, "Role"));
            Assert.Equal(primary ? "role-PRIMARY" : "role-REPLICA", node.RowClass);
            Assert.Equal("CONNECTED", Cell(page, node.Name, "Agent"));
            Assert.Equal("UP", Cell(page, node.Name, "Postgres"));
            Assert.Equal("OK", Cell(page, node.Name, "Health"));
            Assert.Equal(primary ? "" : "node0", Cell(page, node.Name, "Upstream"));
            if (primary)
            {
                Assert.Equal("", Cell(page, node.Name, "Lag"));
            }
            else
            {
                Assert.Matches(LagBytes(), Cell(page, node.Name, "Lag"));
            }

            Assert.Equal("1", Cell(page, node.Name, "Timeline"));
            Assert.Matches(TimeOfDay(), Cell(page, node.Name, "Last report"));
        }

        Assert.Equal("Alerts", page.AlertsHeading);
        Assert.Equal(AlertColumns, page.AlertsHeader);
        // The host-dependent rules are off (StartFleetAsync): a healthy fleet has no alert, not even a pending one.
        Assert.Equal("none", Assert.Single(Assert.Single(page.Alerts)));

        Assert.Equal("Recent events", page.EventsHeading);
        Assert.Equal(EventColumns, page.EventsHeader);
        foreach (var name in (string[])["node0", "node1", "node2"])
        {
            Assert.Contains(page.Events, e => e.Count == EventColumns.Length && e[1] == "NODE_PRESENCE" && e[2] == Cluster && e[3] == name
                && e[4].StartsWith("node appeared", StringComparison.Ordinal) && TimeOfDay().IsMatch(e[0]));
        }

        Assert.Contains("node appeared", page.Text, StringComparison.Ordinal);
        return true;
    }

    private async Task<LocalFleetHost> StartFleetAsync(CancellationToken cancellationToken)
    {
        // Ports: aggregator gRPC and HTTP, then agent gRPC ports, then agent HTTP ports (agent i: base + i).
        const int portCount = 2 + (2 * (Replicas + 1));
        for (var attempt = 1; ; attempt++)
        {
            var start = FreeTcpPort.PickConsecutive(portCount);
            var options = new LocalFleetOptions
            {
                Region = Region,
                Cluster = Cluster,
                Replicas = Replicas,
                AggregatorGrpcPort = start,
                AggregatorHttpPort = start + 1,
                AgentGrpcBasePort = start + 2,
                AgentHttpBasePort = start + 3 + Replicas,
                AggregatorSettings = new Dictionary<string, string?>
                {
                    // The live change must show within the test: the alert fires after 2 s, not 30 s.
                    ["Alerts:postgres_down:For"] = "00:00:02",
                    // Rules that follow this machine's load or a fresh database's cold cache would add
                    // alerts and events at random; the page must show exactly what the test causes.
                    ["Alerts:cpu_high:Enabled"] = "false",
                    ["Alerts:memory_high:Enabled"] = "false",
                    ["Alerts:disk_usage_warning:Enabled"] = "false",
                    ["Alerts:disk_usage_critical:Enabled"] = "false",
                    ["Alerts:buffer_hit_ratio_warning:Enabled"] = "false",
                    ["Alerts:buffer_hit_ratio_critical:Enabled"] = "false",
                },
            };
            try
            {
                return await LocalFleetHost.StartAsync(options, Log, cancellationToken);
            }
            catch (Exception ex) when (attempt < 3 && IsPortTaken(ex))
            {
                Log($"a port of {start}..{start + portCount - 1} was taken meanwhile ({ex.Message}); retrying with others");
            }
        }
    }

    /// <summary>Kestrel's "address already in use" or LocalFleet's own port check, anywhere in the chain.</summary>
    private static bool IsPortTaken(Exception ex) =>
        ex.Message.Contains("already in use", StringComparison.OrdinalIgnoreCase) || (ex.InnerException is { } inner && IsPortTaken(inner));

    /// <summary>Waits until the API shows every node reporting with its role and the replicas' lag.</summary>
    private static async Task WaitForFleetInApiAsync(LocalFleetHost fleet, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = fleet.AggregatorHttp, Timeout = TimeSpan.FromSeconds(10) };
        var deadline = Stopwatch.StartNew();
        var last = "(no answer yet)";
        while (true)
        {
            try
            {
                using var response = await http.GetAsync(new Uri($"/api/v1/clusters/{Cluster}", UriKind.Relative), cancellationToken);
                last = $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}";
                if (response.IsSuccessStatusCode && FleetReady(JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken))))
                {
                    return;
                }
            }
            catch (HttpRequestException ex)
            {
                last = ex.Message;
            }

            if (deadline.Elapsed > FleetReadyTimeout)
            {
                Assert.Fail($"The aggregator did not show {Replicas + 1} reporting nodes within {FleetReadyTimeout.TotalSeconds:0} s. Last answer: {Truncate(last)}");
            }

            await Task.Delay(250, cancellationToken);
        }
    }

    private static bool FleetReady(JsonNode? cluster)
    {
        var nodes = cluster?["nodes"] as JsonArray ?? [];
        return nodes.Count == Replicas + 1 && nodes.All(n =>
            n?["presence"]?.ToString() == "AGENT_PRESENCE_CONNECTED"
            && n["postgresState"]?.ToString() == "POSTGRES_STATE_UP"
            && n["health"]?.ToString() == "HEALTH_LEVEL_OK"
            && (n["identity"]?["name"]?.ToString() == "node0"
                ? n["role"]?.ToString() == "NODE_ROLE_PRIMARY"
                : n["role"]?.ToString() == "NODE_ROLE_REPLICA" && n["upstream"]?.ToString() == "node0" && n["lagBytes"] is not null));
    }

    private async Task<PageState> WaitForPageAsync(BrowserPage page, Func<PageState, bool> condition, string what, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        var lastFailure = "";
        while (true)
        {
            var state = await ReadPageAsync(page, cancellationToken);
            bool met;
            try
            {
                met = state is not null && condition(state);
            }
            catch (Exception ex) when (ex is XunitException or ArgumentOutOfRangeException or InvalidOperationException or KeyNotFoundException)
            {
                met = false; // Not (yet) rendered as expected: a check failed, or a row or column is missing.
                lastFailure = $"\nLast failed check: {ex.Message}";
            }

            if (met)
            {
                Log($"page shows {what} after {deadline.Elapsed.TotalSeconds:0.0} s");
                return state!;
            }

            if (deadline.Elapsed > PageTimeout)
            {
                Assert.Fail($"The dashboard did not show {what} within {PageTimeout.TotalSeconds:0} s.{lastFailure}\nIt shows:\n{state?.Text ?? "(no dashboard document)"}\n" +
                    $"Page problems: {(page.Problems.Count == 0 ? "none" : string.Join('\n', page.Problems))}");
            }

            await Task.Delay(200, cancellationToken);
        }
    }

    /// <summary>What the page shows; null while the dashboard document is not there yet.</summary>
    private static async Task<PageState?> ReadPageAsync(BrowserPage page, CancellationToken cancellationToken) =>
        (await page.EvaluateAsync(ReadPage, cancellationToken))?.GetValue<string>() is { } json
            ? JsonSerializer.Deserialize<PageState>(json, PageJson)
            : null;

    private async Task SaveScreenshotAsync(BrowserPage page, string name, CancellationToken cancellationToken)
    {
        var directory = Environment.GetEnvironmentVariable("FLEET_DASHBOARD_SCREENSHOTS") is { Length: > 0 } configured
            ? configured
            : Path.Combine(AppContext.BaseDirectory, "TestResults", "dashboard");
        var path = Path.GetFullPath(Path.Combine(directory, name));
        await page.ScreenshotAsync(path, cancellationToken);
        Log($"screenshot: {path} ({new FileInfo(path).Length.ToString(CultureInfo.InvariantCulture)} bytes)");
    }

    /// <summary>The text of <paramref name="column"/> in the row of <paramref name="node"/> (first cluster).</summary>
    private static string Cell(PageState page, string node, string column)
    {
        var cluster = page.Clusters[0];
        var index = cluster.Header.IndexOf(column);
        var row = cluster.Nodes.Single(n => n.Name == node);
        return index < 0 ? throw new KeyNotFoundException($"no column {column}") : row.Cells[index];
    }

    /// <summary>The State column of every row of the alerts table for <paramref name="rule"/> on <paramref name="node"/>.</summary>
    private static List<string> AlertStates(PageState page, string rule, string node) =>
        [.. page.Alerts.Where(a => a.Count == AlertColumns.Length && a[2] == rule && a[4] == node).Select(a => a[0])];

    private static string Truncate(string text) => text.Length <= 2000 ? text : text[..2000] + " ...";

    private void Log(string line)
    {
        try
        {
            output.WriteLine($"[{DateTime.Now:HH:mm:ss.fff}] {line}");
        }
        catch (InvalidOperationException)
        {
            // A late line from the fleet after the test finished.
        }
    }

    [GeneratedRegex(@"^\d+(\.\d)? (B|KiB|MiB)$")]
    private static partial Regex LagBytes();

    [GeneratedRegex(@"^\d{1,2}:\d{2}:\d{2}( [AP]M)?$")]
    private static partial Regex TimeOfDay();

    private sealed record PageState(
        string Text,
        string Title,
        string? Region,
        string? Live,
        List<ClusterView> Clusters,
        string? AlertsHeading,
        List<string> AlertsHeader,
        List<List<string>> Alerts,
        string? EventsHeading,
        List<string> EventsHeader,
        List<List<string>> Events,
        string? Marker,
        SseCounters? Sse);

    private sealed record ClusterView(string Name, string Title, string? Health, List<string> Header, List<string> HeaderTags, List<NodeRow> Nodes);

    private sealed record NodeRow(string Name, string RowClass, List<string> Cells);

    private sealed record SseCounters(int Opened, int Messages, int Errors);
}
