using Fleet.Protos.V1;

namespace Fleet.Aggregator.State;

/// <summary>The alerts currently pending or firing, as the health rules see them.</summary>
public interface IAlertView
{
    IReadOnlyList<Alert> ActiveAlerts(string? cluster);
}
