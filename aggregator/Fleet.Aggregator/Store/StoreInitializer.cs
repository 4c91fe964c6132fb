namespace Fleet.Aggregator.Store;

/// <summary>
/// Opens and migrates the store in <see cref="IHostedLifecycleService.StartingAsync"/>, which the host
/// runs for every lifecycle service before it calls any hosted service's StartAsync: so hosted services
/// registered before AddFleetStore can use the store from their StartAsync. A failure stops start-up.
/// </summary>
internal sealed class StoreInitializer(IFleetStore store) : IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken) => store.InitializeAsync(cancellationToken);

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
