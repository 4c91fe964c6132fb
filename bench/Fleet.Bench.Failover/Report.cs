using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Fleet.Bench.Failover;

/// <summary>A scenario's trials and what they add up to.</summary>
internal sealed record ScenarioSummary(ScenarioInfo Info, IReadOnlyList<TrialResult> Trials)
{
    private IReadOnlyList<double> Times => [.. Trials.Where(t => t.Ok && t.WritableAfterSeconds is not null).Select(t => t.WritableAfterSeconds!.Value).Order()];

    public int Measured => Times.Count;

    public int Failed => Trials.Count(t => !t.Ok);

    public double? Median => Times.Count == 0 ? null : Times.Count % 2 == 1 ? Times[Times.Count / 2] : (Times[(Times.Count / 2) - 1] + Times[Times.Count / 2]) / 2;

    public double? Min => Times.Count == 0 ? null : Times[0];

    public double? Max => Times.Count == 0 ? null : Times[^1];

    public int LostTotal => Trials.Sum(t => t.Lost ?? 0);

    public int SplitBrains => Trials.Count(t => t.SplitBrain is not null);

    /// <summary>Every trial ran, the median is within the target, nothing acknowledged was lost, no split brain.</summary>
    public bool TargetMet => Failed == 0 && Median <= Info.Target.TotalSeconds && LostTotal == 0 && SplitBrains == 0;
}

internal sealed record RunInfo(int Seed, int TrialsPerScenario, bool Synchronous, int Cores, string Runtime, string Postgres, string Build, string LoadAverage, DateTimeOffset Started);

internal static class Report
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static string Render(RunInfo run, IReadOnlyList<ScenarioSummary> scenarios)
    {
        var text = new StringBuilder();
        Line(text, $"Fleet.Bench.Failover: {run.TrialsPerScenario} trial(s) per scenario, each on a fresh local fleet (PostgreSQL primary + 2 replicas, 3 agents, 1 aggregator, Fleet's default settings)");
        Line(text, $"replication {(run.Synchronous ? "synchronous (FIRST 1 (node1, node2))" : "asynchronous")}; fault at a random moment 0-1000 ms after steady writes, seed {run.Seed}; {run.Cores} cores, load average {run.LoadAverage} at the end; {run.Runtime}, {run.Build}; {run.Postgres}");
        Line(text, string.Empty);
        foreach (var scenario in scenarios)
        {
            Line(text, $"{scenario.Info.Title}: {scenario.Info.Measured}");
            Line(text, string.Empty);
            Line(text, "| trial | fault after steady writes | writable again on | after | acknowledged rows | lost | split brain | published primary, epoch |");
            Line(text, "| ---: | ---: | --- | ---: | ---: | ---: | --- | --- |");
            foreach (var trial in scenario.Trials)
            {
                var published = trial.PublishedPrimary is null ? string.Empty : $"{trial.PublishedPrimary}, {trial.Epoch}";
                var after = trial.WritableAfterSeconds is { } s ? Seconds(s) + (trial.DecisionSeconds is { } d ? $" (decision {Seconds(d)})" : string.Empty) : "—";
                Line(text, $"| {trial.Trial} | {trial.FaultDelayMs} ms | {trial.WritableOn ?? "—"} | {after} | {trial.Acknowledged.ToString("N0", Invariant)} | {(trial.Lost?.ToString(Invariant) ?? "—")} | {(trial.SplitBrain is null ? (trial.Lost is null ? "—" : "no") : "**yes**: " + trial.SplitBrain)} | {published} |");
                if (trial.Error is not null)
                {
                    Line(text, $"|  | failed: {trial.Error.ReplaceLineEndings(" ")} | | | | | | |");
                }
            }

            Line(text, string.Empty);
            Line(text, $"median {Seconds(scenario.Median)}, min {Seconds(scenario.Min)}, max {Seconds(scenario.Max)} over {scenario.Measured} trial(s){(scenario.Failed > 0 ? $", {scenario.Failed} failed" : string.Empty)}; " +
                       $"acknowledged rows lost: {scenario.LostTotal}; split brains: {scenario.SplitBrains}");
            Line(text, string.Empty);
        }

        Line(text, "| scenario | median | min | max | lost rows | split brains | target | met | Patroni, tightest timings | Patroni, defaults |");
        Line(text, "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: |");
        foreach (var scenario in scenarios)
        {
            var info = scenario.Info;
            Line(text, $"| {info.Title} | {Seconds(scenario.Median)} | {Seconds(scenario.Min)} | {Seconds(scenario.Max)} | {scenario.LostTotal} | {scenario.SplitBrains} | " +
                       $"≤ {Seconds(info.Target.TotalSeconds)} (median), 0 lost, 0 split brain | {(scenario.TargetMet ? "yes" : "**no**")} | {Patroni(info.PatroniTightest)} | {Patroni(info.PatroniDefaults)} |");
        }

        return text.ToString();
    }

    public static async Task WriteJsonAsync(string path, RunInfo run, IReadOnlyList<ScenarioSummary> scenarios)
    {
        var document = new
        {
            run,
            scenarios = scenarios.Select(s => new
            {
                scenario = s.Info.Key,
                title = s.Info.Title,
                measured = s.Info.Measured,
                target_s = s.Info.Target.TotalSeconds,
                patroni_tightest_s = s.Info.PatroniTightest?.TotalSeconds,
                patroni_defaults_s = s.Info.PatroniDefaults?.TotalSeconds,
                median_s = s.Median,
                min_s = s.Min,
                max_s = s.Max,
                failed = s.Failed,
                lost_total = s.LostTotal,
                split_brains = s.SplitBrains,
                target_met = s.TargetMet,
                trials = s.Trials,
            }),
        };
        var json = JsonSerializer.Serialize(document, new JsonSerializerOptions
        {
            WriteIndented = true,
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        });
        await File.WriteAllTextAsync(path, json);
    }

    private static string Patroni(TimeSpan? measured) => measured is { } m ? Seconds(m.TotalSeconds) : "not measured";

    private static string Seconds(double? seconds) => seconds is { } s ? s.ToString("0.00", Invariant) + " s" : "—";

    private static void Line(StringBuilder text, string line) => text.Append(line).Append('\n');
}
