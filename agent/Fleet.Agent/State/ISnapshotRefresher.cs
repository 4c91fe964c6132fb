using Fleet.Protos.V1;

namespace Fleet.Agent.State;

/// <summary>Collects a fresh snapshot now (serialised with the periodic loop) and publishes it.</summary>
public interface ISnapshotRefresher
{
    Task<NodeSnapshot> CollectNowAsync(CancellationToken cancellationToken);
}
