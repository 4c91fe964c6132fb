using System.Text.Json;
using System.Text.RegularExpressions;
using Fleet.EndToEnd.Tests.Infrastructure;
using Fleet.Testing;
using Npgsql;

namespace Fleet.EndToEnd.Tests.Deploy;

/// <summary>
/// deploy/grafana's dashboards query only metric families that a running fleet really exports: every
/// fleet_* name in every panel expression is looked up in the /metrics output of the shared fleet's
/// aggregator, its primary's agent and a replica's agent.
/// </summary>
[Collection(SharedFleetCollection.Name)]
public sealed partial class GrafanaDashboardTests(SharedFleetFixture fixture)
{
    private static readonly string[] HistogramSuffixes = ["_bucket", "_sum", "_count"];

    [Fact]
    public async Task EveryMetricInEveryPanel_IsExportedByTheFleet()
    {
        var wanted = Dashboards().SelectMany(d => d.Expressions).SelectMany(e => MetricName().Matches(e).Select(m => m.Value)).ToHashSet(StringComparer.Ordinal);
        Assert.True(wanted.Count >= 20, $"only {wanted.Count} metric names found in the dashboards");

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var sources = new[] { fixture.Fleet.AggregatorHttp, fixture.Fleet.AgentHttp(0), fixture.Fleet.AgentHttp(1) };
        // Some families exist only while something happens (replay_lag is NULL for an idle standby; the archive
        // figures follow the first verification; the longest transaction needs one open): a writer keeps WAL flowing
        // and a session sits idle in a transaction while the exports are polled.
        using var stopWriting = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var writing = WriteUntilCancelledAsync(fixture.Fleet.Postgres.Nodes[0].ConnectionString, stopWriting.Token);
        var missing = await Poll.UntilAsync(async () =>
            {
                var exported = new HashSet<string>(StringComparer.Ordinal);
                foreach (var source in sources)
                {
                    exported.UnionWith(Families(await http.GetStringAsync(new Uri(source, "/metrics"))));
                }

                return wanted.Where(name => !exported.Contains(name) && !HistogramSuffixes.Any(s => name.EndsWith(s, StringComparison.Ordinal) && exported.Contains(name[..^s.Length]))).ToList();
            },
            names => names.Count == 0, TimeSpan.FromSeconds(90), "every dashboard metric exported", names => string.Join(", ", names));
        await stopWriting.CancelAsync();
        await writing;
        Assert.Empty(missing);
    }

    /// <summary>One small insert every 100 ms on the primary, until cancelled (bounded by the caller's token).</summary>
    private static async Task WriteUntilCancelledAsync(string connectionString, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync(cancellationToken);
            await using (var create = new NpgsqlCommand("CREATE TABLE IF NOT EXISTS grafana_dashboard_probe (at timestamptz)", connection))
            {
                await create.ExecuteNonQueryAsync(cancellationToken);
            }

            // A session left idle in an open transaction: the longest-transaction families exist only while one is open.
            await using var idle = new NpgsqlConnection(connectionString);
            await idle.OpenAsync(cancellationToken);
            await using (var begin = new NpgsqlCommand("BEGIN; SELECT txid_current()", idle))
            {
                await begin.ExecuteNonQueryAsync(cancellationToken);
            }

            await using var insert = new NpgsqlCommand("INSERT INTO grafana_dashboard_probe VALUES (now())", connection);
            while (true)
            {
                await insert.ExecuteNonQueryAsync(cancellationToken);
                await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    [Fact]
    public void Dashboards_AreGrafanaJson_WithPrometheusTargets()
    {
        foreach (var dashboard in Dashboards())
        {
            Assert.False(string.IsNullOrEmpty(dashboard.Uid), $"{dashboard.File}: no uid");
            Assert.NotEmpty(dashboard.Expressions);
        }
    }

    /// <summary>Every panel expression parses as PromQL: promtool checks them as recording rules (template variables filled in).</summary>
    [Fact]
    public void EveryPanelExpression_IsValidPromQL()
    {
        var rules = new System.Text.StringBuilder("groups:\n  - name: dashboards\n    rules:\n");
        var count = 0;
        foreach (var dashboard in Dashboards())
        {
            foreach (var expression in dashboard.Expressions)
            {
                var filled = expression.Replace("$cluster", "c", StringComparison.Ordinal).Replace("$node", "n", StringComparison.Ordinal);
                rules.Append(System.Globalization.CultureInfo.InvariantCulture, $"      - record: dashboard:expression_{count++}\n        expr: {JsonSerializer.Serialize(filled)}\n");
            }
        }

        Promtool.AssertRulesValid(rules.ToString());
    }

    private static IEnumerable<string> Families(string exposition)
    {
        foreach (var line in exposition.Split('\n'))
        {
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                yield return line.Split(' ')[2];
            }
            else if (line.Length > 0 && line[0] != '#')
            {
                yield return line.Split('{', ' ')[0];
            }
        }
    }

    private static List<(string File, string Uid, List<string> Expressions)> Dashboards()
    {
        var dashboards = new List<(string, string, List<string>)>();
        foreach (var file in Directory.EnumerateFiles(Path.Combine(RepositoryRoot.Path, "deploy", "grafana"), "*.json"))
        {
            using var document = JsonDocument.Parse(File.ReadAllText(file));
            var root = document.RootElement;
            var expressions = root.GetProperty("panels").EnumerateArray()
                .SelectMany(panel => panel.TryGetProperty("targets", out var targets) ? targets.EnumerateArray() : Enumerable.Empty<JsonElement>())
                .Select(target => target.GetProperty("expr").GetString()!)
                .ToList();
            dashboards.Add((file, root.GetProperty("uid").GetString() ?? string.Empty, expressions));
        }

        Assert.NotEmpty(dashboards);
        return dashboards;
    }

    [GeneratedRegex(@"\bfleet_[a-z0-9_]+\b")]
    private static partial Regex MetricName();
}
