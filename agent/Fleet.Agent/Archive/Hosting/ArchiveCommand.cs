using Fleet.Protos.V1;

namespace Fleet.Agent.Archive.Hosting;

/// <summary>The aggregator's VerifyArchiveNow command: verify (waiting for a run in progress), answer with the status.</summary>
internal static class ArchiveCommand
{
    public static async Task<CommandResult> VerifyAsync(
        ArchiveVerificationService? service, AggregatorCommand command, CommandResult result, CancellationToken cancellationToken)
    {
        if (service is not { Enabled: true })
        {
            result.Outcome = CommandOutcome.Failed;
            result.Message = "this node has no WAL archive to verify (Archive:Location is not set)";
            return result;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (command.Timeout is { } limit && limit.ToTimeSpan() > TimeSpan.Zero)
        {
            timeout.CancelAfter(limit.ToTimeSpan());
        }

        try
        {
            var status = await service.VerifyAsync(command.VerifyArchiveNow.Deep, progress: null, timeout.Token);
            result.Archive = status;
            result.Outcome = CommandOutcome.Succeeded;
            result.Message = status.FirstProblem is { } problem
                ? $"archive {status.Verdict}: {problem.Code}: {problem.Message}"
                : $"archive {status.Verdict}: {status.SegmentsVerified} segments";
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            result.Outcome = CommandOutcome.DeadlineExceeded;
            result.Message = $"the archive verification did not finish within {command.Timeout?.ToTimeSpan().TotalSeconds:F0} s";
        }

        return result;
    }
}
