namespace Fleet.Agent.Archive.Hosting;

/// <summary>
/// Verifies the archive every Archive:VerifyInterval (the first run at start-up), and checks every record's
/// CRC-32C when Archive:DeepVerifyInterval is due. Thin: the work is in <see cref="ArchiveVerificationService"/>,
/// whose failures become results, so the loop never dies with an exception.
/// </summary>
internal sealed class ArchiveVerificationLoop(ArchiveVerificationService service, TimeProvider time, ILogger<ArchiveVerificationLoop> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!service.Enabled)
        {
            ArchiveLog.Disabled(logger);
            return;
        }

        var options = service.Options;
        ArchiveLog.LoopStarted(logger, service.Location, options.VerifyInterval, options.DeepVerifyInterval);
        using var timer = new PeriodicTimer(options.VerifyInterval, time);
        DateTimeOffset? lastDeep = null;
        var first = true;
        try
        {
            do
            {
                // The first run is a quick one, so a status exists soon after start; deep runs follow when due.
                var now = time.GetUtcNow();
                var deep = !first && options.DeepVerifyInterval > TimeSpan.Zero && (lastDeep is null || now - lastDeep >= options.DeepVerifyInterval);
                first = false;
                try
                {
                    await service.VerifyAsync(deep, progress: null, stoppingToken);
                    if (deep)
                    {
                        lastDeep = now;
                    }
                }
                catch (Exception e) when (!stoppingToken.IsCancellationRequested)
                {
                    ArchiveLog.VerificationError(logger, e);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Host shutdown.
        }
    }
}
