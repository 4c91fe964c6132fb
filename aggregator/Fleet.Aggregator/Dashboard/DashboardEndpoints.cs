
namespace Fleet.Aggregator.Dashboard;

/// <summary>Serves the fleet-at-a-glance page at "/" (embedded, no build step, no external assets).</summary>
internal static class DashboardEndpoints
{
    private static readonly Lazy<byte[]> Page = new(() =>
    {
        using var stream = typeof(DashboardEndpoints).Assembly.GetManifestResourceStream("Fleet.Aggregator.Dashboard.index.html")
            ?? throw new InvalidOperationException("The dashboard page is not embedded in the assembly.");
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        return memory.ToArray();
    });

    public static void MapDashboard(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapGet("/", () => Results.Bytes(Page.Value, "text/html; charset=utf-8"));
}
