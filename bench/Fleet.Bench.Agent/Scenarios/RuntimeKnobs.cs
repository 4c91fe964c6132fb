namespace Fleet.Bench.Agent.Scenarios;

/// <summary>A runtime setting tried on the trimmed agent, as DOTNET_* environment variables (they override runtimeconfig.json).</summary>
internal sealed record RuntimeKnob(string Name, string Settings, string Purpose, IReadOnlyDictionary<string, string> Environment);

/// <summary>
/// The memory knobs a sidecar may legitimately use, each tried alone against the published settings
/// (agent/Fleet.Agent/Fleet.Agent.csproj). No heap hard limit: that would cap memory by failing, not save it.
/// </summary>
internal static class RuntimeKnobs
{
    public static IReadOnlyList<RuntimeKnob> Variants { get; } =
    [
        new("published", "Fleet.Agent.csproj as is", "the baseline of this table", new Dictionary<string, string>()),
        new("server GC", "DOTNET_gcServer=1", "what Microsoft.NET.Sdk.Web gives by default: a heap per core", new Dictionary<string, string> { ["DOTNET_gcServer"] = "1" }),
        new("concurrent GC", "DOTNET_gcConcurrent=1", "background GC thread and its bookkeeping", new Dictionary<string, string> { ["DOTNET_gcConcurrent"] = "1" }),
        new("dynamic PGO", "DOTNET_TieredPGO=1", "instrumented tier for profile-guided recompilation", new Dictionary<string, string> { ["DOTNET_TieredPGO"] = "1" }),
        new("no tiering", "DOTNET_TieredCompilation=0", "every method JIT-compiled once, fully optimised", new Dictionary<string, string> { ["DOTNET_TieredCompilation"] = "0" }),
        new("gen0 budget 1 MB", "DOTNET_GCgen0size=0x100000", "smaller allocation budget between gen0 collections", new Dictionary<string, string> { ["DOTNET_GCgen0size"] = "0x100000" }),
        new("conserve memory 0", "DOTNET_GCConserveMemory=0", "no extra compaction to limit fragmentation", new Dictionary<string, string> { ["DOTNET_GCConserveMemory"] = "0" }),
    ];
}
