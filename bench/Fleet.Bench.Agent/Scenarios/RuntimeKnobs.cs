namespace Fleet.Bench.Agent.Scenarios;

/// <summary>
/// A runtime setting tried on the self-contained agents, as DOTNET_* environment variables (they override
/// runtimeconfig.json and, under Native AOT, the settings compiled in). <see cref="JitOnly"/>: about the JIT,
/// so not tried on the Native AOT agent.
/// </summary>
internal sealed record RuntimeKnob(string Name, string Settings, string Purpose, IReadOnlyDictionary<string, string> Environment, bool JitOnly = false);

/// <summary>
/// Runtime settings a sidecar may legitimately use, each tried against the published ones
/// (agent/Fleet.Agent/Fleet.Agent.csproj: workstation GC, no background GC, no dynamic PGO, no thread-pool spinning). No heap hard
/// limit: that caps memory by failing allocations, it does not save any.
/// </summary>
internal static class RuntimeKnobs
{
    public static IReadOnlyList<RuntimeKnob> Variants { get; } =
    [
        new("published", "Fleet.Agent.csproj", "workstation, non-concurrent GC; TieredPGO off; no thread-pool spinning", Env()),
        new("SDK defaults", "gcServer=1 gcConcurrent=1 TieredPGO=1 spin=70", "what Microsoft.NET.Sdk.Web gives without the csproj settings",
            Env(("gcServer", "1"), ("gcConcurrent", "1"), ("TieredPGO", "1"), ("ThreadPool_UnfairSemaphoreSpinLimit", "70"))),
        new("thread-pool spinning", "ThreadPool_UnfairSemaphoreSpinLimit=70", "idle workers spin before sleeping (the runtime's default)", Env(("ThreadPool_UnfairSemaphoreSpinLimit", "70"))),
        new("server GC", "gcServer=1", "a GC heap per core, larger gen0 budgets", Env(("gcServer", "1"))),
        new("concurrent GC", "gcConcurrent=1", "background GC thread", Env(("gcConcurrent", "1"))),
        new("dynamic PGO", "TieredPGO=1", "instrumented tier before the optimised one", Env(("TieredPGO", "1")), JitOnly: true),
        new("no tiering", "TieredCompilation=0", "every method JIT-compiled once, fully optimised", Env(("TieredCompilation", "0")), JitOnly: true),
        new("gen0 budget 4 MB", "GCgen0size=0x400000", "smaller allocation budget between gen0 GCs (env only)", Env(("GCgen0size", "0x400000"))),
        new("conserve memory", "GCConserveMemory=7", "compact gen2 to limit fragmentation", Env(("GCConserveMemory", "7"))),
        new("quiet request log", "FLEET_AGENT_Logging__LogLevel__Microsoft.AspNetCore=Warning", "configuration, not runtime: no Information log lines for every HTTP request (scrapes)",
            new Dictionary<string, string>(StringComparer.Ordinal) { ["FLEET_AGENT_Logging__LogLevel__Microsoft.AspNetCore"] = "Warning" }),
        new("heap left to the runtime", "FLEET_AGENT_Memory__Gen0Budget=0, CompactInterval=0, MmapThreshold=0",
            "configuration, not runtime: no induced collections, no trims, glibc's mmap threshold (its own gen0 budget fills only after ~3 min: use --knob-seconds 400)",
            new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["FLEET_AGENT_Memory__Gen0Budget"] = "0",
                ["FLEET_AGENT_Memory__CompactInterval"] = "00:00:00",
                ["FLEET_AGENT_Memory__MmapThreshold"] = "0",
            }),
        new("W^X off", "EnableWriteXorExecute=0", "JIT code in plain anonymous memory instead of a double-mapped memfd (env only)", Env(("EnableWriteXorExecute", "0")), JitOnly: true),
    ];

    private static Dictionary<string, string> Env(params (string Name, string Value)[] settings) =>
        settings.ToDictionary(s => "DOTNET_" + s.Name, s => s.Value, StringComparer.Ordinal);
}
